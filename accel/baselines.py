"""Published baselines (docs/references.md §6) as records and a DataFrame for plots.

* ``platform``: energy per bit (pJ/bit) and kFPS/W of CPUs, GPUs, electronic and photonic
  accelerators as evaluated by the ROBIN/CrossLight group (CrossLight, Sunny et al., DAC 2021,
  average over four CNNs).
* ``electronic_bnn``: BNN accelerators from their own papers (FINN, YodaNN, XNORBIN, Bankman
  et al.). Efficiencies in TOp/s/W count a MAC as two operations (the papers' convention);
  ``energy_per_bit_j`` is then the energy of one binary MAC, ``2 / efficiency``.
* ``photonic_bnn``: LightBulb (DATE 2020), published only as ratios to earlier accelerators.

``ROBIN_CLAIMS`` holds ROBIN's headline ratios (TECS 2021 abstract). Fields that a paper does
not define are NaN.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

__all__ = ["Baseline", "BASELINES", "ROBIN_CLAIMS", "records", "table"]

NAN = math.nan
_CROSSLIGHT = "Sunny et al., 'CrossLight', DAC 2021 (average over four CNNs) - docs/references.md §6"


@dataclass(frozen=True)
class Baseline:
    """One published accelerator or platform; NaN where the source gives no value."""

    name: str
    category: str
    energy_per_bit_j: float = NAN
    kfps_per_w: float = NAN
    tops_per_w: float = NAN
    fps: float = NAN
    latency_s: float = NAN
    energy_per_inference_j: float = NAN
    power_w: float = NAN
    accuracy: float = NAN
    workload: str = ""
    technology: str = ""
    source: str = ""
    note: str = ""


def _platform(name: str, epb_pj: float, kfps_per_w: float, tech: str = "") -> Baseline:
    return Baseline(name=name, category="platform", energy_per_bit_j=epb_pj * 1e-12, kfps_per_w=kfps_per_w,
                    technology=tech, workload="four CNNs (CrossLight evaluation)", source=_CROSSLIGHT)


def _tops_per_w(name: str, eff: float, tech: str, source: str, note: str) -> Baseline:
    return Baseline(name=name, category="electronic_bnn", tops_per_w=eff, energy_per_bit_j=2.0 / (eff * 1e12),
                    technology=tech, source=source, note=note)


BASELINES: tuple[Baseline, ...] = (
    _platform("NVIDIA P100", 971.31, 24.9, "GPU"),
    _platform("Xeon Platinum 9282", 5099.68, 2.39, "CPU"),
    _platform("AMD Threadripper 3970x", 5831.18, 2.09, "CPU"),
    _platform("DaDianNao", 58.33, 0.65, "electronic accelerator"),
    _platform("Edge TPU", 697.37, 17.53, "electronic accelerator"),
    _platform("NullHop", 2727.43, 4.48, "electronic accelerator"),
    _platform("DEAP-CNN", 44453.88, 0.07, "photonic accelerator"),
    _platform("HolyLight", 274.13, 3.3, "photonic accelerator"),
    _platform("CrossLight (opt + TED)", 28.78, 52.59, "photonic accelerator"),
    Baseline(name="FINN (ZC706, MNIST)", category="electronic_bnn", fps=12.3e6, latency_s=0.31e-6, workload="MNIST MLP",
             technology="FPGA (Zynq ZC706)", source="Umuroglu et al., 'FINN', FPGA 2017 - docs/references.md §6"),
    Baseline(name="FINN (ZC706, CIFAR-10)", category="electronic_bnn", fps=21.9e3, workload="CIFAR-10 CNN",
             technology="FPGA (Zynq ZC706)", source="Umuroglu et al., 'FINN', FPGA 2017 - docs/references.md §6"),
    _tops_per_w("YodaNN", 61.2, "65 nm ASIC, 0.6 V",
                "Andri et al., 'YodaNN', ISVLSI 2016 / TCAD 2018 - docs/references.md §6", "binary weights, multi-bit activations"),
    _tops_per_w("XNORBIN", 95.0, "65 nm ASIC",
                "Bahou et al., 'XNORBIN', COOL Chips 2018 - docs/references.md §6", "fully binary"),
    Baseline(name="Bankman et al. mixed-signal BNN", category="electronic_bnn", fps=237.0, energy_per_inference_j=3.8e-6,
             power_w=0.9e-3, accuracy=0.86, workload="CIFAR-10 CNN", technology="28 nm mixed-signal",
             source="Bankman et al., JSSC 2019 - docs/references.md §6"),
    Baseline(name="LightBulb", category="photonic_bnn", workload="BNN CNNs", technology="photonic XNOR + racetrack memory",
             source="Zokaee et al., 'LightBulb', DATE 2020 - docs/references.md §6",
             note="17-173x throughput and 17.5-660x throughput/W over earlier electro-optic accelerators (ratios only)"),
)

ROBIN_CLAIMS = {
    "eo_epb_vs_electronic_bnn": 1.0 / 4.0,
    "eo_epb_vs_lightbulb": 1.0 / 933.0,
    "po_speedup_vs_electronic_bnn": 3.0,
    "po_speedup_vs_lightbulb": 25.0,
    "source": "Sunny, Mirza, Nikdast, Pasricha, 'ROBIN', ACM TECS 2021 (abstract) - docs/references.md §6",
}
"""ROBIN's headline ratios: EO energy-per-bit relative to the baseline (x lower = 1/x), PO speed-up."""


def records(category: str | None = None) -> list[Baseline]:
    """All baselines, or those of one ``category`` (``platform``, ``electronic_bnn``, ``photonic_bnn``)."""
    cats = sorted({b.category for b in BASELINES})
    if category is not None and category not in cats:
        raise ValueError(f"category={category!r} is not a baseline category; allowed: {cats} or None")
    return [b for b in BASELINES if category is None or b.category == category]


def table(category: str | None = None) -> pd.DataFrame:
    """:func:`records` as a DataFrame (one row per baseline, one column per field)."""
    return pd.DataFrame([asdict(b) for b in records(category)])
