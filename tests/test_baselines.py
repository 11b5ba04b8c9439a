"""accel.baselines: published figures of docs/references.md §6, in a form plots can use."""
import math

import pytest

from accel import baselines

# docs/references.md §6, CrossLight (DAC 2021) platform table: EPB (pJ/bit), kFPS/W.
CROSSLIGHT = {
    "NVIDIA P100": (971.31, 24.9),
    "Xeon Platinum 9282": (5099.68, 2.39),
    "AMD Threadripper 3970x": (5831.18, 2.09),
    "DaDianNao": (58.33, 0.65),
    "Edge TPU": (697.37, 17.53),
    "NullHop": (2727.43, 4.48),
    "DEAP-CNN": (44453.88, 0.07),
    "HolyLight": (274.13, 3.3),
    "CrossLight (opt + TED)": (28.78, 52.59),
}


def by_name():
    return {b.name: b for b in baselines.records()}


@pytest.mark.parametrize("name", sorted(CROSSLIGHT))
def test_platform_table(name):
    b = by_name()[name]
    epb_pj, kfps_w = CROSSLIGHT[name]
    assert b.category == "platform"
    assert b.energy_per_bit_j == pytest.approx(epb_pj * 1e-12, rel=1e-12)
    assert b.kfps_per_w == kfps_w
    assert "CrossLight" in b.source


def test_electronic_bnn_accelerators():
    b = by_name()
    # TOp/s/W with a MAC counted as two operations: one binary MAC costs 2 / efficiency.
    assert b["YodaNN"].tops_per_w == 61.2
    assert b["YodaNN"].energy_per_bit_j == pytest.approx(2 / 61.2e12, rel=1e-12)
    assert b["XNORBIN"].energy_per_bit_j == pytest.approx(2 / 95e12, rel=1e-12)
    assert b["FINN (ZC706, MNIST)"].fps == 12.3e6 and b["FINN (ZC706, MNIST)"].latency_s == 0.31e-6
    assert b["FINN (ZC706, CIFAR-10)"].fps == 21.9e3
    bankman = b["Bankman et al. mixed-signal BNN"]
    # The published 3.8 uJ per classification at 237 fps is the published 0.9 mW.
    assert bankman.energy_per_inference_j * bankman.fps == pytest.approx(bankman.power_w, rel=0.01)
    assert bankman.accuracy == 0.86
    assert math.isnan(bankman.energy_per_bit_j)


def test_every_record_cites_its_source_and_categories_filter():
    for b in baselines.records():
        assert "docs/references.md §6" in b.source
    assert {b.category for b in baselines.records("electronic_bnn")} == {"electronic_bnn"}
    assert [b.name for b in baselines.records("photonic_bnn")] == ["LightBulb"]
    with pytest.raises(ValueError, match="category='gpu'"):
        baselines.records("gpu")


def test_table_is_one_row_per_record():
    df = baselines.table()
    assert len(df) == len(baselines.BASELINES)
    for col in ("name", "category", "energy_per_bit_j", "kfps_per_w", "tops_per_w", "fps", "source"):
        assert col in df.columns
    assert len(baselines.table("platform")) == len(CROSSLIGHT)


def test_robin_claims():
    c = baselines.ROBIN_CLAIMS
    assert c["eo_epb_vs_electronic_bnn"] == pytest.approx(1 / 4) and c["eo_epb_vs_lightbulb"] == pytest.approx(1 / 933)
    assert c["po_speedup_vs_electronic_bnn"] == 3.0 and c["po_speedup_vs_lightbulb"] == 25.0
