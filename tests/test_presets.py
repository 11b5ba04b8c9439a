"""accel.presets: shipped presets match the published configurations; bad files fail clearly."""
import dataclasses
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
    """Remove the [area] table (it sits just before [package]); optionally add a top-level line."""
    head, rest = text.split("[area]", 1)
    head = head.replace('cell_model = "robin"', 'cell_model = "robin"\n' + top_level, 1)
    return head + "[package]" + rest.split("[package]", 1)[1]


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


# ------------------------------------------------------------------------------ extends
FIXTURES = Path(__file__).with_name("fixtures")


def _flat(path: Path) -> dict:
    import tomllib

    with path.open("rb") as fh:
        return tomllib.load(fh)


def test_robin_po_extends_robin_eo_and_equals_the_flat_file():
    text = (presets.PRESET_DIR / "robin-po.toml").read_text()
    assert 'extends = "robin-eo"' in text
    flat = presets.from_dict(_flat(FIXTURES / "robin-po-flat.toml"))
    loaded = presets.load("robin-po")
    assert loaded.to_dict() == flat.to_dict()  # field by field, sources included
    assert loaded == flat and hash(loaded) == hash(flat)


def test_extends_by_name_and_by_relative_path(tmp_path: Path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "fast.toml").write_text('extends = "robin-eo"\nname = "fast"\n[architecture]\nbit_rate_gbps = 10.0\n')
    (tmp_path / "faster.toml").write_text('extends = "sub/fast.toml"\nname = "faster"\n[architecture]\nunits = 200\n')
    base = presets.load("robin-eo")
    fast, faster = presets.load(sub / "fast.toml"), presets.load(tmp_path / "faster.toml")

    def values(cfg):
        return {k: v for k, v in cfg.to_dict().items() if k != "sources"}

    assert values(fast) == values(base.with_values({"name": "fast", "architecture.bit_rate_gbps": 10.0}))
    assert values(faster) == values(base.with_values({"name": "faster", "architecture.bit_rate_gbps": 10.0,
                                                      "architecture.units": 200}))
    assert faster.source("architecture.bit_rate_gbps") is faster.source("architecture.units") is None
    assert faster.source("architecture.vdus_per_unit") == base.source("architecture.vdus_per_unit")


def test_extends_merges_sources_and_drops_the_source_of_an_overridden_value(tmp_path: Path):
    base = presets.load("robin-eo")
    assert base.source("losses.coupler_db") and base.source("losses.combiner_db")
    path = tmp_path / "mine.toml"
    path.write_text('extends = "robin-eo"\nname = "mine"\n[losses]\ncoupler_db = 4.8\ncombiner_db = 0.9\n'
                    '[sources]\n"losses.coupler_db" = "grating coupler, Sci. Rep. 7, 13857 (2017)"\n'
                    '"floorplan.vdu_pitch_um" = "my layout"\n')
    cfg = presets.load(path)
    assert cfg.losses.coupler_db == 4.8 and cfg.source("losses.coupler_db").startswith("grating coupler")
    assert cfg.source("losses.combiner_db") is None  # set again here, so robin-eo's source no longer applies
    assert cfg.source("floorplan.vdu_pitch_um") == "my layout"
    assert cfg.source("losses.propagation_db_per_cm") == base.source("losses.propagation_db_per_cm")


def test_from_dict_extends_a_preset():
    cfg = presets.from_dict({"extends": "robin-eo", "architecture": {"vdus_per_unit": 4}})
    base = presets.load("robin-eo")
    assert cfg.M == 4 and cfg.source("architecture.vdus_per_unit") is None
    assert dict(cfg.sources) == {k: v for k, v in base.sources if k != "architecture.vdus_per_unit"}
    assert dataclasses.replace(cfg, sources=base.sources) == base.with_values({"M": 4})


@pytest.mark.parametrize("content, exc, words", [
    ('extends = "robin-xx"\n', ValueError, ["extends='robin-xx'", "allowed presets", "robin-eo"]),
    ('extends = "nowhere/base.toml"\n', FileNotFoundError, ["extends='nowhere/base.toml'", "no such file"]),
    ("extends = 3\n", TypeError, ["extends must be a preset name or a path", "3"]),
    ('extends = "robin-eo"\n[architecture]\nunits = 0\n', ValueError, ["architecture.units=0", ">= 1"]),
    ('extends = "robin-eo"\n[architecture]\nunit_count = 3\n', ConfigKeyError, ["architecture.unit_count"]),
])
def test_bad_extends(tmp_path: Path, rejected, content, exc, words):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with rejected(exc, str(path), *words):
        presets.load(path)


def test_extends_cycle_is_an_error(tmp_path: Path, rejected):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "./a.toml"\n')
    with rejected(ValueError, "extends cycle", "a.toml -> ", "b.toml -> "):
        presets.load(tmp_path / "a.toml")
    (tmp_path / "self.toml").write_text('extends = "self.toml"\n')
    with rejected(ValueError, "extends cycle"):
        presets.load(tmp_path / "self.toml")


# ------------------------------------------------------------------------------ every physical parameter in the preset
# The values the accelerator path took from module defaults before they became preset fields
# (photonics.variation / photonics.tuning dataclass defaults, photonics.receiver's noise
# temperature, the XNOR cell's bit-0 shift of half a channel spacing). Equal values are the
# "no result changed" invariant of moving them into the presets.
def _default(func, name):
    import inspect

    return inspect.signature(func).parameters[name].default


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_new_preset_fields_reproduce_the_former_module_defaults(name):
    from accel.conditions import Conditions
    from photonics.tuning import TuningModel
    from photonics.variation import FabricationModel, ThermalModel

    cfg = presets.load(name)
    assert cfg.variation == FabricationModel() and cfg.thermal == ThermalModel()
    # chip_budget_w is new in the presets (issue 10, a package limit), not a former module default
    budget = cfg.tuning.chip_budget_w
    assert cfg.tuning.model() == TuningModel(common_mode=cfg.tuning.common_mode, chip_budget_w=budget).with_actuator(
        cfg.tuning.eo_actuator)
    resolved = Conditions().resolve(cfg)
    assert resolved.variation.fab == FabricationModel() and resolved.variation.thermal == ThermalModel()
    assert resolved.tuning == cfg.tuning.model()
    # the receiver noise is the TIA's input-referred density now, not the module's resistor default
    assert "noise_temperature_k" not in cfg.to_dict()["receiver"] and cfg.receiver.tia_noise_pa_per_rthz > 4.0
    assert cfg.wavelength.bit0_shift_fraction_of_spacing is None  # only the papers' "assumed" modulator has one
    assert "comparator_energy_fj" not in cfg.to_dict()["receiver"]


NEW_TABLES = ("variation", "thermal", "eo", "eo_injection", "eo_depletion", "eo_pockels")
NEW_KEYS = ("receiver.tia_noise_pa_per_rthz", "receiver.pd_bias_v", "tuning.eo_mechanism", "tuning.to_power_per_fsr_mw",
            "tuning.to_max_power_mw", "tuning.to_lock_time_us", "tuning.reassign_order", "tuning.thermal_crosstalk",
            "tuning.lock_tolerance_nm")


@pytest.mark.parametrize("name", ["robin-eo", "lightbulb"])
def test_every_new_field_has_a_source_or_says_assumption_or_design_choice(name):
    # DESIGN.md: a device constant from a publication records its source in the preset; every
    # other physical value says "assumption" (or is a stated design choice) and why.
    from accel.config import PARAMETERS

    cfg = presets.load(name)
    text = (presets.PRESET_DIR / f"{name}.toml").read_text()
    keys = [*NEW_KEYS, *(k for k in PARAMETERS if k.partition(".")[0] in NEW_TABLES)]
    for key in keys:
        field = key.partition(".")[2]
        line = next((ln for ln in text.splitlines() if ln.startswith(f"{field} =")), None)
        if line is None:  # an optional field the preset leaves unset
            assert cfg.value(key) is None, key
            continue
        comment = line.partition("#")[2]
        assert cfg.source(key) or "assumption" in comment or "design choice" in comment, key
        if cfg.source(key):
            assert "docs/references.md §" in cfg.source(key), key


@pytest.mark.parametrize("name", presets.names())
def test_to_toml_loads_back_to_the_same_configuration(name):
    import tomllib

    cfg = presets.load(name)
    assert presets.from_dict(tomllib.loads(presets.to_toml(cfg))) == cfg


def test_files_and_provenance_follow_the_extends_chain(tmp_path):
    (tmp_path / "fast.toml").write_text('extends = "robin-po"\nname = "fast"\n[architecture]\nbit_rate_gbps = 10.0\n')
    chain = presets.files(tmp_path / "fast.toml")
    assert chain == [(tmp_path / "fast.toml").resolve(), presets.PRESET_DIR.resolve() / "robin-po.toml",
                     presets.PRESET_DIR.resolve() / "robin-eo.toml"]
    cfg = presets.load(tmp_path / "fast.toml")
    info = presets.provenance(cfg, tmp_path / "fast.toml")
    assert info["path"] == str(chain[0]) and info["extends"] == [str(p) for p in chain[1:]]
    # the hash is of the resolved configuration: the same physics built in Python has the same hash, another value not
    same = presets.load("robin-po").with_values({"name": "fast", "architecture.bit_rate_gbps": 10.0})
    built = presets.provenance(same)
    assert built["path"] is None and built["extends"] == []
    assert (built["sha256"] == info["sha256"]) == (same == cfg)
    assert presets.provenance(cfg.with_values({"architecture.units": 36}))["sha256"] != info["sha256"]


@pytest.mark.parametrize("base", ["robin-eo", "robin-po", "lightbulb"])
def test_paper_variants_are_the_base_plus_the_papers_assumptions(base):
    """``<base>-paper``: extends its base and changes only the papers' assumptions (issue 10, item 8)."""
    text = (presets.PRESET_DIR / f"{base}-paper.toml").read_text()
    assert f'extends = "{base}"' in text
    paper, phys = presets.load(f"{base}-paper").to_dict(), presets.load(base).to_dict()
    changed = {f"{sec}.{k}" for sec, fields in paper.items() if isinstance(fields, dict) and sec not in ("sources", "ranges")
               for k, v in fields.items() if phys[sec].get(k) != v}
    assert changed == {"tuning.eo_mechanism", "tuning.common_mode", "eo.platform", "eo.activation_mechanism",
                       "eo.weight_mechanism", "wavelength.bit0_shift_fraction_of_spacing",
                       "wavelength.ring_blue_bias_nm", "energy.activation_modulation_fj_per_bit",
                       "energy.weight_program_fj_per_ring"} | ({"tuning.eo_settle_ns"} if base.startswith("robin") else set())
    cfg = presets.load(f"{base}-paper")
    m = cfg.tuning.model()
    # CrossLight's Pockels tuner: 4 uW/nm both ways over +-1 nm (docs/references.md §4)
    assert (m.eo_blue_range_nm, m.eo_red_range_nm) == (1.0, 1.0)
    assert m.eo_blue_w_per_nm == m.eo_red_w_per_nm == pytest.approx(4e-6, rel=1e-12)
    assert cfg.tuning.common_mode == "ideal" and f"{base}-paper" not in ("robin-eo", "robin-po", "lightbulb")


@pytest.mark.parametrize("func", ["presets.provenance", "presets.to_toml", "tuning_estimate.estimate",
                                  "tuning_estimate.shift_sigmas", "common_mode.design_blue_bias_nm"])
def test_config_functions_name_a_wrong_argument(func, rejected):
    from accel import tuning_estimate
    from accel.components import common_mode

    fn = {"presets": presets, "tuning_estimate": tuning_estimate, "common_mode": common_mode}[func.split(".")[0]]
    fn = getattr(fn, func.split(".")[1])
    kwargs = {"yield_target": 0.95} if func.endswith("design_blue_bias_nm") else {}
    with rejected(TypeError, "config must be an accel.config.AcceleratorConfig", "str"):
        fn("robin-eo", **kwargs)


# ------------------------------------------------------------------------------ declared ranges (issue 12, item 1)
_GROUPS = {"devices": ("activation_ring", "weight_ring", "laser", "losses", "eo", "eo_injection", "eo_depletion",
                       "eo_pockels"),
           "variation": ("variation", "thermal"), "tuning": ("tuning",), "receiver": ("receiver",),
           "converters": ("converters",), "memory": ("memory",)}
# a citation: docs/references.md, the physics review, or an author / publication year; else an assumption
_CITED = r"docs/references\.md|physics review|(19|20)\d\d|^assumption|: assumption|low: assumption"


@pytest.mark.parametrize("name", presets.names())
def test_shipped_presets_declare_at_least_20_ranges_with_sources(name):
    import re

    cfg = presets.load(name)
    assert len(cfg.ranges) >= 20
    sections = {r.key.partition(".")[0] for r in cfg.ranges}
    for group, members in _GROUPS.items():
        assert sections & set(members), f"{name}: no range in {group}"
    for r in cfg.ranges:
        assert r.low <= cfg.value(r.key) <= r.high and r.low < r.high
        assert re.search(_CITED, r.source), (r.key, r.source)
    assert "ranges" in presets.to_toml(cfg) and presets.from_dict(_toml(presets.to_toml(cfg))) == cfg


def _toml(text):
    import tomllib

    return tomllib.loads(text)


def test_extends_merges_ranges_and_drops_the_range_of_an_overridden_value(tmp_path: Path):
    base = presets.load("robin-eo")
    assert base.range_of("losses.coupler_db") and base.range_of("losses.combiner_db")
    path = tmp_path / "mine.toml"
    path.write_text('extends = "robin-eo"\nname = "mine"\n[losses]\ncoupler_db = 6.0\n'
                    '[ranges]\n"tuning.to_max_power_mw" = { low = 20.0, high = 100.0, source = "assumption: test" }\n'
                    '"losses.combiner_db" = { low = 0.8, high = 1.0, source = "assumption: narrower" }\n')
    cfg = presets.load(path)
    assert cfg.range_of("losses.coupler_db") is None  # the base's 1-4.8 dB described its 1.5 dB
    assert cfg.range_of("tuning.to_max_power_mw").high == 100.0
    assert cfg.range_of("losses.combiner_db").source == "assumption: narrower"
    assert cfg.range_of("tuning.to_power_per_fsr_mw") == base.range_of("tuning.to_power_per_fsr_mw")
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "robin-eo"\nname = "bad"\n[tuning]\nto_power_per_fsr_mw = 100.0\n'
                   '[ranges]\n"tuning.to_power_per_fsr_mw" = { low = 2.4, high = 80.0, source = "x" }\n')
    with pytest.raises(ValueError, match=r"bad\.toml: ranges\['tuning\.to_power_per_fsr_mw'\].*=100\.0"):
        presets.load(bad)
