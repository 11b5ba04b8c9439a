"""accel.config: typed frozen sections, validation messages, FSR fit, derived channel grid."""
import dataclasses
import math
import tomllib

import numpy as np
import pytest

from accel import presets
from accel.config import AcceleratorConfig, ArchitectureConfig, ConfigKeyError, RingConfig

# Strip-waveguide indices at 1550 nm, 220 nm thick (docs/references.md §2 mode-solver table):
# 500 nm: n_eff 2.4455, n_g 4.191; 800 nm: n_eff 2.6885, n_g 3.904.
N_G_500, N_EFF_500 = 4.191, 2.4455
N_G_800, N_EFF_800 = 3.904, 2.6885


def base_dict() -> dict:
    """robin-eo as a dict, with the ring indices pinned to the docs/references.md §2 values."""
    with (presets.PRESET_DIR / "robin-eo.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["activation_ring"].update(n_eff=N_EFF_500, n_g=N_G_500)
    data["weight_ring"].update(n_eff=N_EFF_800, n_g=N_G_800)
    return data


@pytest.fixture
def cfg() -> AcceleratorConfig:
    return presets.from_dict(base_dict())


def arch(**kw):
    values = dict(wavelengths_per_vdu=10, vdus_per_unit=10, units=183, bit_rate_gbps=5.0, rings_per_cell=2)
    values.update(kw)
    return ArchitectureConfig(**values)


def test_section_range_error_names_key_value_and_range():
    with pytest.raises(ValueError, match=r"architecture\.wavelengths_per_vdu=0 .*>= 1"):
        arch(wavelengths_per_vdu=0)
    with pytest.raises(ValueError, match=r"architecture\.bit_rate_gbps=-5\.0 .*> 0"):
        arch(bit_rate_gbps=-5.0)


@pytest.mark.parametrize("value", [10.0, True, "10"])
def test_int_field_rejects_non_int(value):
    with pytest.raises(TypeError, match=r"architecture\.units must be an int"):
        arch(units=value)


def test_float_field_accepts_int_and_converts():
    a = arch(bit_rate_gbps=5)
    assert isinstance(a.bit_rate_gbps, float) and a.bit_rate_gbps == 5.0


def test_non_finite_rejected():
    with pytest.raises(ValueError, match="bit_rate_gbps"):
        arch(bit_rate_gbps=math.inf)


def test_sections_are_frozen_and_config_hashable(cfg):
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.architecture.units = 3
    assert hash(cfg) == hash(presets.from_dict(base_dict()))


def test_shorthands(cfg):
    assert (cfg.N, cfg.M, cfg.units, cfg.bit_rate_gbps) == (10, 10, 183, 5.0)


def test_channel_grid_centred_at_spacing(cfg):
    ch = cfg.channels_nm
    assert ch.shape == (10,)
    np.testing.assert_allclose(ch.mean(), cfg.wavelength.center_wavelength_nm, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(ch), cfg.wavelength.channel_spacing_nm, rtol=1e-12)


def test_fsr_fit_closed_form(cfg):
    # FSR = lambda^2 / (n_g L), L = 2 pi R (docs/references.md §1); the 500 nm activation ring has the
    # larger n_g, hence the smaller FSR, and limits N.
    spacing = 1.0
    fsr_act = 1550.0**2 / (N_G_500 * 2 * math.pi * cfg.activation_ring.radius_um * 1e3)
    n_max = math.floor(fsr_act / spacing)
    ok = cfg.with_values({"wavelength.channel_spacing_nm": spacing, "architecture.wavelengths_per_vdu": n_max})
    assert ok.N == n_max
    with pytest.raises(ValueError, match=rf"wavelengths_per_vdu={n_max + 1} .*activation_ring FSR"):
        cfg.with_values({"wavelength.channel_spacing_nm": spacing, "architecture.wavelengths_per_vdu": n_max + 1})


def test_with_values_revalidates(cfg):
    new = cfg.with_values({"architecture.units": 366, "losses.coupler_db": 2})
    assert new.units == 366 and new.losses.coupler_db == 2.0 and cfg.units == 183
    with pytest.raises(ValueError, match=r"architecture\.units=0"):
        cfg.with_values({"architecture.units": 0})
    with pytest.raises(ConfigKeyError, match="architecture.unit"):
        cfg.with_values({"architecture.unit": 3})


def test_to_dict_round_trip(cfg):
    assert presets.from_dict(cfg.to_dict()) == cfg


def test_sources_must_name_fields(cfg):
    assert "docs/references.md §6" in cfg.source("architecture.units")
    assert cfg.source("floorplan.vdu_pitch_um") is None
    with pytest.raises(ConfigKeyError, match="losses.nonsense"):
        dataclasses.replace(cfg, sources=(("losses.nonsense", "x"),))


def test_robin_cell_needs_two_rings(cfg):
    with pytest.raises(ValueError, match=r"rings_per_cell=3 .*allowed: 2"):
        cfg.with_values({"architecture.rings_per_cell": 3})
    lb = cfg.with_values({"cell_model": "lightbulb", "architecture.rings_per_cell": 3})
    assert lb.architecture.rings_per_cell == 3


def test_ring_design_uses_config_values(cfg):
    ring = RingConfig(radius_um=5, width_nm=500, thickness_nm=220, kappa2_in=0.04, kappa2_drop=0.04,
                      loss_db_per_cm=2, n_eff=N_EFF_500, n_g=N_G_500)
    design = ring.design(1550.0)
    assert design.radius_um == 5.0 and design.kappa2_drop == 0.04 and design.n_g == N_G_500
    with pytest.raises(ValueError, match=r"ring\.kappa2_in=1\.0"):
        dataclasses.replace(ring, kappa2_in=1.0)


@pytest.mark.parametrize("value", [1, "true", None])
def test_bool_field_rejects_non_bool(cfg, value):
    with pytest.raises(TypeError, match=r"tuning\.track_common_mode"):
        dataclasses.replace(cfg.tuning, track_common_mode=value)


def test_presets_track_the_common_mode():
    # Every shipped preset tunes rings only for the within-chip spread (see TuningConfig).
    from accel.energy import default_tuning_model

    for name in presets.names():
        assert default_tuning_model(presets.load(name)).track_common_mode is True
