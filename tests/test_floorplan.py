"""A buildable floorplan: pitches from ring size + edge-to-edge gaps, area by hand, overlap and
channel-spacing errors, and the distance convention of the thermal-crosstalk data.

Independent values: hand arithmetic on the ring geometry (outer diameter = 2*radius + width), the
Lorentzian drop 1/(1+(2 s/FWHM)^2), and the TED crosstalk table of docs/references.md §4, whose
distances are edge-to-edge gaps between radius-5 µm rings (source configuration gap 0.7 µm).
"""
import math

import numpy as np
import pytest

from accel import Accelerator, presets
from accel.floorplan import build_floorplan, unit_size_um
from photonics import tuning

# a small robin-eo with its own ring geometry: every number below follows from these by hand
GEOMETRY = {
    "architecture.wavelengths_per_vdu": 4, "architecture.vdus_per_unit": 3, "architecture.units": 5,
    "activation_ring.radius_um": 4.0, "activation_ring.width_nm": 500.0,
    "weight_ring.radius_um": 4.0, "weight_ring.width_nm": 900.0,
    "floorplan.ring_gap_um": 2.0, "floorplan.vdu_gap_um": 12.0, "floorplan.unit_margin_um": 50.0,
}


@pytest.fixture(scope="module")
def small():
    return presets.load("robin-eo").with_values(GEOMETRY)


def test_pitches_unit_size_and_cell_area_by_hand(small):
    outer = 2 * 4.0 + 0.9  # the wider (900 nm) ring: 8.9 µm outer diameter
    pitch, vdu_pitch = outer + 2.0, outer + 12.0  # 10.9 and 20.9 µm centre to centre
    assert small.ring_outer_diameter_um == pytest.approx(8.9, rel=1e-12)
    assert (small.ring_pitch_um, small.vdu_pitch_um) == pytest.approx((10.9, 20.9), rel=1e-12)
    width = 2 * 50.0 + 4 * 2 * pitch  # 187.2 µm: N = 4 cells of 2 rings
    height = 2 * 50.0 + 3 * vdu_pitch  # 162.7 µm: M = 3 VDUs
    assert (width, height) == pytest.approx((187.2, 162.7), rel=1e-12)
    assert unit_size_um(small) == pytest.approx((width, height), rel=1e-12)
    acc = Accelerator(small)
    assert acc.components.xnor_cell.area_mm2 == pytest.approx(5 * width * height * 1e-6, rel=1e-12)  # 5 units
    # ring centres: half a pitch in from the margin, then one pitch apart; edges 2 µm apart
    fp = build_floorplan(small)
    x = fp.x_um.reshape(5, 3, 8)
    y = fp.y_um.reshape(fp.shape)
    first_unit = fp.unit == 0
    assert fp.x_um[first_unit].min() == pytest.approx(50.0 + 10.9 / 2, rel=1e-12)
    np.testing.assert_allclose(np.diff(x, axis=-1), 10.9, rtol=1e-12)
    np.testing.assert_allclose(np.diff(x, axis=-1) - outer, 2.0, rtol=1e-9)
    np.testing.assert_allclose(np.diff(y[:, :, 0, 0], axis=1), 20.9, rtol=1e-12)
    # no two ring centres on the die closer than one outer diameter + the smallest gap
    xy = fp.xy_um
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(10.9, rel=1e-9) and d.min() - outer >= small.floorplan.min_ring_gap_um


def test_explicit_pitch_replaces_the_derived_one(small):
    cfg = small.with_values({"floorplan.ring_pitch_um": 12.0, "floorplan.vdu_pitch_um": 30.0})
    assert (cfg.ring_pitch_um, cfg.vdu_pitch_um) == (12.0, 30.0)
    assert unit_size_um(cfg) == pytest.approx((2 * 50.0 + 8 * 12.0, 2 * 50.0 + 3 * 30.0), rel=1e-12)
    # exactly outer diameter + smallest gap (8.9 + 0.7 µm) is buildable
    assert small.with_values({"ring_pitch_um": 9.6}).ring_pitch_um == 9.6


@pytest.mark.parametrize("radius_um", [3.0, 5.0, 10.0, 20.0])
def test_area_follows_the_ring_radius_by_hand(radius_um):
    cfg = _radius_sweep_base().with_values({"ring_radius_um": radius_um})
    f = cfg.floorplan
    outer = 2 * radius_um + 0.8  # robin-eo's 800 nm weight ring is the wider
    width = 2 * f.unit_margin_um + 2 * 2 * (outer + 5.0)  # N = 2, 5 µm ring gap
    height = 2 * f.unit_margin_um + 3 * (outer + 14.2)  # M = 3, 14.2 µm VDU gap
    assert (f.ring_gap_um, f.vdu_gap_um, f.unit_margin_um) == (5.0, 14.2, 100.0)
    assert Accelerator(cfg).components.xnor_cell.area_mm2 == pytest.approx(4 * width * height * 1e-6, rel=1e-12)


def _radius_sweep_base():
    # N = 2: the 2 x 1.6 nm grid fits the FSR of a 20 µm ring (~4.6 nm)
    return presets.load("robin-eo").with_values({"N": 2, "M": 3, "units": 4})


def test_area_grows_with_ring_radius():
    base = _radius_sweep_base()
    accs = [Accelerator(base.with_values({"ring_radius_um": r})) for r in (3.0, 5.0, 10.0, 20.0)]
    cell = [a.components.xnor_cell.area_mm2 for a in accs]
    total = [a.area_mm2 for a in accs]
    assert all(b > a for a, b in zip(cell, cell[1:])) and all(b > a for a, b in zip(total, total[1:]))


@pytest.mark.parametrize("key,value,outer_plus_gap", [
    ("floorplan.ring_pitch_um", 9.0, "9.6"),  # 8.9 µm rings at 9 µm: 0.1 µm apart
    ("floorplan.ring_pitch_um", 5.0, "9.6"),  # overlapping
    ("floorplan.vdu_pitch_um", 9.5, "9.6"),
])
def test_a_pitch_below_diameter_plus_smallest_gap_is_refused(small, rejected, key, value, outer_plus_gap):
    with rejected(ValueError, f"{key}={value}", "8.9", "0.7", outer_plus_gap):
        small.with_values({key: value})


def test_a_40um_ring_no_longer_fits_a_5um_pitch(rejected):
    base = presets.load("robin-eo").with_values({"N": 1})
    # radius 20 µm, 800 nm weight ring: 40.8 µm wide, needs a pitch of at least 40.8 + 0.7 µm
    with rejected(ValueError, "floorplan.ring_pitch_um=5.0", "40.8", "41.5"):
        base.with_values({"ring_radius_um": 20.0, "ring_pitch_um": 5.0})
    assert base.with_values({"ring_radius_um": 20.0, "ring_pitch_um": 41.5}).ring_pitch_um == 41.5


@pytest.mark.parametrize("key", ["floorplan.ring_gap_um", "floorplan.vdu_gap_um"])
def test_a_gap_below_the_smallest_gap_is_refused(small, rejected, key):
    with rejected(ValueError, f"{key}=0.5", "floorplan.min_ring_gap_um=0.7", ">= 0.7"):
        small.with_values({key: 0.5})


def test_channel_spacing_below_the_linewidth_multiple_is_refused(rejected):
    cfg = presets.load("robin-eo")
    lam = cfg.wavelength.center_wavelength_nm
    fwhm = max(cfg.activation_ring.design(lam).fwhm_nm, cfg.weight_ring.design(lam).fwhm_nm)
    assert cfg.wavelength.min_spacing_linewidths == 3.0
    # 3 linewidths: a Lorentzian drop passes 1/(1 + 6^2) = 1/37 of a neighbour, -15.68 dB
    assert 10 * math.log10(1 / 37) == pytest.approx(-15.682, abs=1e-3)
    # the brief's example: 512 channels 0.01 nm apart fit the FSR (5.12 nm) but sit on top of each other
    s = 0.01
    leak_db = 10 * math.log10(1 / (1 + (2 * s / fwhm) ** 2))
    with rejected(ValueError, "wavelength.channel_spacing_nm=0.01", "weight_ring", f"{leak_db:.3g} dB",
                  "min_spacing_linewidths=3.0", f"{3 * fwhm:.4g} nm", "-15.7 dB"):
        cfg.with_values({"N": 512, "channel_spacing_nm": 0.01})
    # just below 3 linewidths: 2.9 FWHM leaks 1/(1 + 5.8^2) = -15.4 dB
    s = 2.9 * fwhm
    with rejected(ValueError, "wavelength.channel_spacing_nm", f"{10 * math.log10(1 / (1 + 5.8 ** 2)):.3g} dB"):
        cfg.with_values({"channel_spacing_nm": s})
    assert cfg.with_values({"channel_spacing_nm": 3.0 * fwhm * (1 + 1e-9)}).wavelength.channel_spacing_nm > 0


def test_sweep_reports_a_too_dense_grid_as_infeasible():
    from studies import sweep

    base = presets.load("robin-eo")
    with pytest.raises(ValueError, match=r"no design point .*channel_spacing_nm=0\.01 .*min_spacing_linewidths=3"):
        sweep.run(Accelerator(base), {"N": [512], "channel_spacing_nm": [0.01]}, chips=0, progress=False)


# ------------------------------------------------------------------ crosstalk distance convention

def test_crosstalk_is_read_at_the_edge_to_edge_gap_of_the_source_configuration():
    # TED source configuration: radius-5 µm, 500 nm wide rings (outer diameter 10.5 µm), gap 0.7 µm -> 0.23
    assert tuning.thermal_crosstalk_ratio(0.7) == pytest.approx(0.23, rel=1e-12)
    c = tuning.crosstalk_matrix(np.array([0.0, 10.5 + 0.7]), outer_diameter_um=10.5)
    assert c[0, 1] == pytest.approx(0.23, rel=1e-12) and c[0, 0] == c[1, 1] == 1.0
    # reading the 11.2 µm centre distance as a gap would give the table's 11.4 µm point region (~0.006), not 0.23
    assert tuning.thermal_crosstalk_ratio(11.2) < 0.01


def test_the_tuner_sees_the_gap_of_its_floorplan():
    # robin-eo rings (10.8 µm outer diameter) laid out at the smallest gap of the source data, 0.7 µm
    cfg = presets.load("robin-eo").with_values({"floorplan.ring_gap_um": 0.7, "N": 4, "M": 2, "units": 1})
    tuner = Accelerator(cfg).components.tuner
    assert (tuner.pitch_um, tuner.ring_outer_diameter_um) == pytest.approx((11.5, 10.8), rel=1e-12)
    c, _ = tuning._bank_matrices(tuner.bank_size, tuner.pitch_um, True, tuner.ring_outer_diameter_um)
    np.testing.assert_allclose(np.diag(c, 1), 0.23, rtol=1e-12)  # neighbours: 0.7 µm apart edge to edge
    np.testing.assert_allclose(np.diag(c, 2), tuning.thermal_crosstalk_ratio(2 * 11.5 - 10.8), rtol=1e-12)
    # the presets' 5 µm gap, log-linear between the table's 0.7 µm (0.23) and 5.1 µm (0.043) points
    eo = Accelerator(presets.load("robin-eo")).components.tuner
    c, _ = tuning._bank_matrices(eo.bank_size, eo.pitch_um, True, eo.ring_outer_diameter_um)
    assert c[0, 1] == pytest.approx(0.23 * (0.043 / 0.23) ** (4.3 / 4.4), rel=1e-12)
