"""Building blocks of the main report: software accuracy, energy summary, ring spectra, text."""
import numpy as np
import pytest
import torch

from accel import Accelerator
from studies import report
from studies.inputs import load_dataset


@pytest.fixture(scope="module")
def model(mlp_model):
    return mlp_model


def test_software_accuracy_equals_plain_torch_forward(model):
    images, labels = load_dataset(None, 200)
    with torch.no_grad():
        expected = float((model(images).argmax(1) == labels).double().mean())
    assert report.software_accuracy(model, (images, labels)) == expected


def test_energy_summary_is_consistent(model, robin_eo):
    e = report.energy_summary(model, robin_eo)
    assert sum(e["breakdown_j_per_bit"].values()) == pytest.approx(e["energy_per_bit_j"], rel=1e-12)
    assert e["energy_per_bit_j"] == pytest.approx(e["energy_j"] / e["binary_macs"], rel=1e-12)
    assert e["fps_per_w"] == pytest.approx(e["fps"] / e["power_w"], rel=1e-12)
    c = robin_eo.config  # roofline: N * M * units * bit rate binary MACs per second
    assert e["fps"] <= c.N * c.M * c.units * c.bit_rate_gbps * 1e9 / e["binary_macs"]


def test_bank_spectra_peaks_sit_where_the_resonances_are(robin_eo):
    table, meta = report.bank_spectra(robin_eo, seed=0, chip=2, points=6000)
    wl = table["wavelength_nm"].to_numpy()
    step = wl[1] - wl[0]
    channels = np.asarray(meta["channels_nm"])
    n = len(meta["channel"])
    assert n == 2 * robin_eo.N and sorted(set(meta["channel"])) == list(range(robin_eo.N))
    fwhm = min(meta["fwhm_nm"])
    fsr = np.asarray(meta["fsr_nm"])
    for i, (ch, role) in enumerate(zip(meta["channel"], meta["role"])):
        after = table[f"after_{i}"].to_numpy()
        before = table[f"before_{i}"].to_numpy()
        assert 0 <= after.min() and after.max() <= 1 and 0 <= before.min() and before.max() <= 1  # passive ring
        # after tuning: locked within a fraction of a linewidth, drop peak on the channel + residual
        assert abs(meta["offset_after_nm"][i]) < fwhm / 2
        locked = channels[ch] + meta["grid_offset_nm"] + meta["offset_after_nm"][i]
        # the spectrum repeats every FSR and the window may hold two orders: search within ±FSR/2
        near = np.abs(wl - locked) < fsr[role] / 2
        assert wl[near][np.argmax(after[near])] == pytest.approx(locked, abs=1.5 * step)
        # and that is a full-height peak: sampled within step/2 of its top, a Lorentzian peak
        # reads at least 1 / (1 + (step / FWHM)^2) of its height
        assert after[near].max() >= after.max() / (1 + (step / fwhm) ** 2)
        # before tuning: some resonance order sits at channel + shift (mod FSR) if inside the window
        target = channels[ch] + meta["offset_before_nm"][i]
        orders = target + fsr[role] * np.arange(-5, 6)
        inside = orders[(orders > wl[0] + fwhm) & (orders < wl[-1] - fwhm)]
        for peak in inside:
            assert before[np.argmin(abs(wl - peak))] > 0.9 * before.max()
    # the chip is far off before tuning: most rings more than a linewidth from their channel
    assert np.mean(np.abs(meta["offset_before_nm"]) > fwhm) > 0.5


def test_stats_match_numpy():
    v = np.random.default_rng(0).random(25)
    s = report._stats(v)
    assert s["p5"] == np.percentile(v, 5) and s["p95"] == np.percentile(v, 95)
    assert s["median"] == np.median(v) and s["std"] == pytest.approx(np.std(v, ddof=1), rel=1e-12)


def test_presets_table_lists_every_shipped_preset():
    from accel import presets

    lines = report.presets_table().splitlines()
    assert [ln.split()[0] for ln in lines[1:]] == presets.names()


def test_reports_name_each_presets_common_mode_tracking(model, robin_eo):
    e = report.energy_summary(model, Accelerator(robin_eo.config.with_values({"tuning.common_mode": "laser"})))
    assert e["common_mode"].startswith("laser") and "±4 nm" in e["common_mode"]
    # its own static term: tracking power x run time
    assert e["breakdown_j"]["common_mode"] == pytest.approx(e["static_power_w"]["common_mode"] * e["latency_s"], rel=1e-12)
    assert e["static_power_w"]["common_mode"] > 0.0
    ideal = robin_eo.config.with_values({"tuning.common_mode": "ideal"})
    assert "papers' assumption" in report.common_mode_label(ideal)
    meta = {"software_accuracy": 0.9, "images": 10, "chips": 1, "presets": ["robin-eo"],
            "results": {"robin-eo": {"energy": {**e, "common_mode": report.common_mode_label(ideal)},
                                     "accuracy": {"mean": 0.9, "min": 0.9}, "tuning_power_w": {"median": 1.0}}}}
    assert "robin-eo: ideal (free and unbounded: the papers' assumption" in report.format_run_summary(meta)
