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
    with pytest.raises(TypeError, match=r"tuning\.thermal_crosstalk"):
        dataclasses.replace(cfg.tuning, thermal_crosstalk=value)


@pytest.mark.parametrize("value, exc", [("free", ValueError), (True, TypeError), (1, TypeError)])
def test_choice_field_rejects_other_values(cfg, value, exc):
    with pytest.raises(exc, match=r"tuning\.common_mode.*one of 'none', 'laser', 'tec', 'ideal'"):
        dataclasses.replace(cfg.tuning, common_mode=value)


def test_presets_name_their_common_mode_tracking():
    # Every shipped preset states its option (chosen from the cited laser-TEC data, see the presets).
    from accel.conditions import Conditions

    for name in presets.names():
        assert Conditions().resolve(presets.load(name)).tuning.common_mode in ("none", "laser", "tec", "ideal")


# ------------------------------------------------------------------------------ one namespace
# Every short name that existed before the alias table (studies/sweep.py ALIASES), with the
# configuration fields it sets.
OLD_ALIASES = {
    "N": ("architecture.wavelengths_per_vdu",),
    "M": ("architecture.vdus_per_unit",),
    "units": ("architecture.units",),
    "bit_rate_gbps": ("architecture.bit_rate_gbps",),
    "ring_width_nm": ("activation_ring.width_nm", "weight_ring.width_nm"),
    "activation_ring_width_nm": ("activation_ring.width_nm",),
    "weight_ring_width_nm": ("weight_ring.width_nm",),
    "ring_radius_um": ("activation_ring.radius_um", "weight_ring.radius_um"),
    "ring_pitch_um": ("floorplan.ring_pitch_um",),
    "channel_spacing_nm": ("wavelength.channel_spacing_nm",),
    "adc_bits": ("converters.adc_bits",),
}


def test_every_field_has_one_dotted_name():
    from accel.config import PARAMETERS, SECTIONS

    expected = [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)
                if f.name not in ("die_xy_mm", "eo_actuator")]  # eo_actuator: derived, not a TOML key
    assert list(PARAMETERS) == expected


@pytest.mark.parametrize("alias", sorted(OLD_ALIASES))
def test_old_short_names_still_set_their_fields(cfg, alias):
    from accel.config import resolve_name

    assert resolve_name(alias) == OLD_ALIASES[alias]
    key = OLD_ALIASES[alias][0]
    ints = {"N": 8, "M": 4, "units": 100, "adc_bits": 3}
    if alias in ints:
        value = ints[alias]
    elif cfg.value(key) is None:  # a derived value (floorplan.ring_pitch_um): a buildable one, 10 % above it
        value = 1.1 * cfg.ring_pitch_um
    else:
        value = 0.9 * cfg.value(key)
    new = cfg.with_values({alias: value})
    assert all(new.value(k) == value for k in OLD_ALIASES[alias])
    assert new == cfg.with_values({k: value for k in OLD_ALIASES[alias]})


@pytest.mark.parametrize("request_", [
    {"N": 8, "architecture.wavelengths_per_vdu": 8},
    {"ring_width_nm": 600.0, "weight_ring_width_nm": 700.0},
    {"weight_ring.width_nm": 700.0, "ring_width_nm": 600.0},
])
def test_two_names_for_one_field_is_an_error_naming_both(cfg, rejected, request_):
    first, second = request_
    with rejected(ValueError, repr(first), repr(second), "both set"):
        cfg.with_values(request_)


def test_unknown_name_lists_short_names_and_sections(cfg, rejected):
    with rejected(ConfigKeyError, "'width'", "ring_width_nm", "architecture"):
        cfg.with_values({"width": 3.0})


# ------------------------------------------------------------------------------ variation, thermal, tuning, receiver fields
@pytest.mark.parametrize("key, value, words", [
    ("variation.corr_length_um", 0.0, ["variation.corr_length_um=0.0", "> 0.0 um"]),
    ("variation.sigma_w_die_nm", -0.1, ["variation.sigma_w_die_nm=-0.1", ">= 0.0 nm"]),
    ("variation.wafer_bowl_fraction", 1.5, ["variation.wafer_bowl_fraction=1.5", "<= 1.0"]),
    ("thermal.ambient_sigma_K", -1.0, ["thermal.ambient_sigma_K=-1.0", ">= 0.0 K"]),
    ("thermal.ambient_mean_K", math.nan, ["thermal.ambient_mean_K=nan", "not finite"]),
    ("eo_pockels.range_nm", -1, ["eo_pockels.range_nm=-1.0", ">= 0.0 nm"]),
    ("eo_injection.overlap", 1.5, ["eo_injection.overlap=1.5", "<= 1.0"]),
    ("tuning.to_lock_time_us", 0.0, ["tuning.to_lock_time_us=0.0", "> 0.0 us"]),
    ("receiver.tia_noise_pa_per_rthz", 0.0, ["receiver.tia_noise_pa_per_rthz=0.0", "> 0.0 pA/sqrt(Hz)"]),
    ("receiver.pd_bias_v", -1.0, ["receiver.pd_bias_v=-1.0", ">= 0.0 V"]),
    ("wavelength.bit0_shift_fraction_of_spacing", 1.0, ["wavelength.bit0_shift_fraction_of_spacing=1.0", "< 1.0"]),
    ("eo.weight_park_fraction_of_spacing", 0.0, ["eo.weight_park_fraction_of_spacing=0.0", "> 0.0"]),
])
def test_new_fields_are_checked_and_named_as_section_field(cfg, rejected, key, value, words):
    with rejected(ValueError, *words):
        cfg.with_values({key: value})


def test_bool_actuator_fields_reject_non_bool(cfg, rejected):
    with rejected(TypeError, "tuning.reassign_order must be a bool", "'yes'"):
        cfg.with_values({"tuning.reassign_order": "yes"})


def test_conditions_take_every_value_from_the_preset(cfg):
    from accel.conditions import Conditions

    changed = cfg.with_values({"variation.sigma_w_die_nm": 1.0, "thermal.ambient_mean_K": 3.0,
                               "eo_injection.carrier_lifetime_ns": 2.0, "tuning.to_power_per_fsr_mw": 40.0,
                               "tuning.to_lock_time_us": 10.0})
    resolved = Conditions().resolve(changed)
    assert resolved.variation.fab.sigma_w_die_nm == 1.0 and resolved.variation.thermal.ambient_mean_K == 3.0
    m = resolved.tuning
    # mW -> W, µs -> s; the EO window is derived from [eo_injection] (a 2 ns lifetime halves the W/nm)
    assert (m.to_power_per_fsr_w, m.to_lock_time_s) == (40e-3, 10e-6)
    assert m.eo_blue_w_per_nm == pytest.approx(cfg.tuning.model().eo_blue_w_per_nm / 2, rel=1e-6)
    assert m.eo_red_range_nm == 0.0 and m.common_mode == changed.tuning.common_mode and m.to_max_power_w == 30e-3


def test_derived_short_names_scale_the_variation_levels(cfg):
    w = [f"variation.sigma_w_{lv}_nm" for lv in ("wafer", "die", "field", "ring")]
    t = [f"variation.sigma_t_{lv}_nm" for lv in ("wafer", "die", "field", "ring")]
    total = cfg.with_values({"width_sigma_nm": 2.0})
    assert math.sqrt(sum(total.value(k) ** 2 for k in w)) == pytest.approx(2.0, rel=1e-12)
    for k in w:  # every level scaled by one factor: the split is kept
        assert total.value(k) / 2.0 == pytest.approx(cfg.value(k) / cfg.variation.sigma_w_total_nm, rel=1e-12)
    assert all(total.value(k) == cfg.value(k) for k in t)
    doubled = cfg.with_values({"variation_scale": 2.0})
    assert all(doubled.value(k) == 2 * cfg.value(k) for k in w + t)
    assert cfg.with_values({"temperature_sigma_k": 3.0}).thermal.ambient_sigma_K == 3.0


def test_derived_short_names_check_their_own_bounds(cfg, rejected):
    with rejected(ValueError, "width_sigma_nm=-1.0", ">= 0.0 nm"):
        cfg.with_values({"width_sigma_nm": -1.0})
    with rejected(ValueError, "temperature_offset_k=300.0", "<= 200.0 K"):
        cfg.with_values({"temperature_offset_k": 300.0})
    with rejected(ValueError, "'width_sigma_nm'", "'variation.sigma_w_die_nm'", "both set"):
        cfg.with_values({"width_sigma_nm": 2.0, "variation.sigma_w_die_nm": 0.3})
    no_width = cfg.with_values({"variation_scale": 0.0})
    with rejected(ValueError, "width_sigma_nm=1.0", "no width_sigma_nm to scale"):
        no_width.with_values({"width_sigma_nm": 1.0})


def test_the_die_position_is_not_a_configuration_field(cfg, rejected):
    with rejected(ValueError, "variation.die_xy_mm=(1.0, 2.0)", "allowed: None"):
        dataclasses.replace(cfg, variation=dataclasses.replace(cfg.variation, die_xy_mm=(1.0, 2.0)))


# ------------------------------------------------------------------------------ declared ranges (issue 12, item 1)
def _with_range(key, **entry):
    data = base_dict()
    data["ranges"] = {key: {"low": 1.0, "high": 2.0, "source": "assumption: test", **entry}}
    return data


@pytest.mark.parametrize("key, entry, exc, words", [
    ("losses.coupler_db", dict(low=-1.0), ValueError, ["ranges['losses.coupler_db'].low=-1.0", ">= 0.0 dB"]),
    ("receiver.responsivity_a_per_w", dict(low=0.8, high=1.5), ValueError,
     ["ranges['receiver.responsivity_a_per_w'].high=1.5", "<= 1.3 A/W"]),
    ("losses.coupler_db", dict(low=2.0, high=4.0), ValueError,
     ["ranges['losses.coupler_db']", "low=2.0", "high=4.0", "losses.coupler_db=1.5", "low <= losses.coupler_db <= high"]),
    ("losses.coupler_db", dict(low=1.5, high=1.5), ValueError, ["ranges['losses.coupler_db']", "low < high"]),
    ("tuning.common_mode", dict(), TypeError, ["'tuning.common_mode'", "str field", "numeric"]),
    ("tuning.reassign_order", dict(), TypeError, ["'tuning.reassign_order'", "bool field"]),
    ("losses.typo_db", dict(), ConfigKeyError, ["'losses.typo_db'", "names no configuration field"]),
    ("losses.coupler_db", dict(source=""), TypeError, ["ranges['losses.coupler_db'].source", "non-empty"]),
    ("losses.coupler_db", dict(lo=1.0), ConfigKeyError, ["ranges['losses.coupler_db']", "'lo'", "allowed keys"]),
    ("losses.coupler_db", dict(low="1"), TypeError, ["ranges['losses.coupler_db'].low", "'1'"]),
    ("tuning.chip_budget_w", dict(low=1.0, high=2.0), ValueError, ["tuning.chip_budget_w=400.0", "low=1.0"]),
])
def test_ranges_are_validated_like_every_field(key, entry, exc, words, rejected):
    with rejected(exc, *words):
        presets.from_dict(_with_range(key, **entry))


def test_ranges_round_trip_through_to_dict_and_are_kept_by_with_values(cfg):
    data = _with_range("losses.coupler_db", low=1.0, high=4.8)
    loaded = presets.from_dict(data)
    r = loaded.range_of("losses.coupler_db")
    assert (r.key, r.low, r.high, r.source) == ("losses.coupler_db", 1.0, 4.8, "assumption: test")
    assert loaded.to_dict()["ranges"] == {"losses.coupler_db": {"low": 1.0, "high": 4.8, "source": "assumption: test"}}
    assert presets.from_dict(loaded.to_dict()) == loaded
    # a derived configuration (a sweep point) keeps the ranges even outside them; loading it as a preset refuses
    far = loaded.with_values({"losses.coupler_db": 6.0})
    assert far.range_of("losses.coupler_db") == r
    with pytest.raises(ValueError, match=r"losses\.coupler_db=6\.0"):
        far.check_ranges()
    assert loaded.range_of("losses.combiner_db") is None
