"""accel.presets: shipped presets match the published configurations; bad files fail clearly."""
import math
from pathlib import Path

import pytest

from accel import presets
from accel.config import ConfigKeyError

# docs/references.md §6 (OXBNN simulator model, ISQED 2023): N, M, units, bit rate (Gb/s).
PUBLISHED = {
    "robin-eo": (10, 10, 183, 5.0),
    "robin-po": (50, 10, 37, 5.0),
    "lightbulb": (16, 4, 227, 50.0),
}


def test_names_lists_shipped_presets():
    assert set(PUBLISHED) <= set(presets.names())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_preset_geometry_matches_publication(name):
    cfg = presets.load(name)
    assert cfg.name == name
    assert (cfg.N, cfg.M, cfg.units, cfg.bit_rate_gbps) == PUBLISHED[name]
    for key in ("architecture.wavelengths_per_vdu", "architecture.vdus_per_unit", "architecture.units",
                "architecture.bit_rate_gbps"):
        assert "docs/references.md §6" in cfg.source(key)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_channels_fit_in_fsr(name):
    cfg = presets.load(name)
    lam = cfg.wavelength.center_wavelength_nm
    for ring in (cfg.activation_ring, cfg.weight_ring):
        n_g = ring.design(lam).n_g
        fsr_nm = lam**2 / (n_g * 2 * math.pi * ring.radius_um * 1e3)  # docs/references.md §1
        assert cfg.N * cfg.wavelength.channel_spacing_nm <= fsr_nm


@pytest.mark.parametrize("name", ["robin-eo", "robin-po"])
def test_robin_weight_ring_is_the_wide_variation_tolerant_design(name):
    # docs/references.md §2: the 800 nm ring body cuts dlambda/dw from 0.58 to 0.157 nm/nm.
    cfg = presets.load(name)
    assert cfg.cell_model == "robin"
    assert cfg.weight_ring.width_nm == 800.0 and cfg.activation_ring.width_nm == 500.0
    assert "docs/references.md §2" in cfg.source("weight_ring.width_nm")


def test_lightbulb_has_its_own_cell_model():
    cfg = presets.load("lightbulb")
    assert cfg.cell_model == "lightbulb" and cfg.architecture.rings_per_cell == 3
    assert "LightBulb" in cfg.source("cell_model")


def test_load_by_path_equals_load_by_name():
    path = presets.PRESET_DIR / "robin-po.toml"
    assert presets.load(path) == presets.load(str(path)) == presets.load("robin-po")


def test_unknown_name_and_missing_file():
    with pytest.raises(ValueError, match=r"'robin-xx' .*allowed presets: .*robin-eo"):
        presets.load("robin-xx")
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        presets.load("nope.toml")
    with pytest.raises(TypeError, match="name_or_path"):
        presets.load(3)


def _sub(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _drop_area(text: str, top_level: str = "") -> str:
    """Remove the [area] table (it sits just before [sources]); optionally add a top-level line."""
    head, rest = text.split("[area]", 1)
    head = head.replace('cell_model = "robin"', 'cell_model = "robin"\n' + top_level, 1)
    return head + "[sources]" + rest.split("[sources]", 1)[1]


BASE = (presets.PRESET_DIR / "robin-eo.toml").read_text()

# edit, exception, substrings the message must contain (key, value, allowed range)
BAD_CASES = {
    "unknown top-level key": (_sub('cell_model = "robin"', 'cell_model = "robin"\ncolour = "red"'), ConfigKeyError, ["'colour'", "allowed"]),
    "unknown section key": (_sub("units = 183", "units = 183\nunit_count = 3"), ConfigKeyError, ["architecture.unit_count", "allowed keys"]),
    "missing key": (_sub("units = 183\n", ""), ConfigKeyError, ["missing key 'architecture.units'", ">= 1"]),
    "missing table": (_drop_area, ConfigKeyError, ["missing key 'area'"]),
    "section not a table": (lambda t: _drop_area(t, "area = 3"), TypeError, ["area must be a table", "3"]),
    "string for int": (_sub("units = 183", 'units = "183"'), TypeError, ["architecture.units", "'183'", ">= 1"]),
    "float for int": (_sub("units = 183", "units = 183.5"), TypeError, ["architecture.units", "183.5"]),
    "bool for float": (_sub("bit_rate_gbps = 5.0", "bit_rate_gbps = true"), TypeError, ["architecture.bit_rate_gbps", "True"]),
    "zero units": (_sub("units = 183", "units = 0"), ValueError, ["architecture.units=0", ">= 1"]),
    "negative bit rate": (_sub("bit_rate_gbps = 5.0", "bit_rate_gbps = -5.0"), ValueError, ["architecture.bit_rate_gbps=-5.0", "> 0.0"]),
    "kappa2 of one": (_sub("kappa2_in = 0.04  ", "kappa2_in = 1.0  "), ValueError, ["activation_ring.kappa2_in=1.0", "< 1.0"]),
    "efficiency above one": (_sub("wall_plug_efficiency = 0.2", "wall_plug_efficiency = 1.5"), ValueError,
                             ["laser.wall_plug_efficiency=1.5", "<= 1.0"]),
    "error rate out of range": (_sub("target_popcount_error_rate = 1e-12", "target_popcount_error_rate = 0.7"), ValueError,
                                ["receiver.target_popcount_error_rate=0.7", "< 0.5"]),
    "bad cell model": (_sub('cell_model = "robin"', 'cell_model = "ring"'), ValueError, ["cell_model='ring'", "robin", "lightbulb"]),
    "channels exceed FSR": (_sub("wavelengths_per_vdu = 10", "wavelengths_per_vdu = 40"), ValueError,
                            ["wavelengths_per_vdu=40", "FSR", "allowed"]),
    "unknown source key": (_sub("\n[sources]\n", '\n[sources]\n"losses.typo_db" = "x"\n'), ConfigKeyError, ["losses.typo_db"]),
    "not TOML": (_sub("[area]", "[area"), ValueError, ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_toml_errors_name_key_value_range(case, tmp_path: Path):
    edit, exc, parts = BAD_CASES[case]
    path = tmp_path / "bad.toml"
    path.write_text(edit(BASE))
    with pytest.raises(exc) as info:
        presets.load(path)
    msg = str(info.value)
    assert str(path) in msg
    for part in parts:
        assert part in msg, (part, msg)
