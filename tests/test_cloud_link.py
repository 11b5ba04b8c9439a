"""accel.cloud and accel.link: closed-form costs, the shipped presets against their published
figures, loading from TOML and the errors on bad input."""
import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pytest

from accel import presets, table_presets
from accel.cloud import DEFAULT_CLOUD, CloudConfig, CloudProcessor, cloud_names, load_cloud
from accel.link import DEFAULT_LINK, Link, LinkConfig, link_names, load_link
from photonics.validation import param_specs

ROOT = Path(__file__).resolve().parents[1]

# NVIDIA datasheets: FP32 (non-tensor-core) FLOP/s and board TDP (W).
A100_SXM_FP32_FLOPS, A100_SXM_TDP_W = 19.5e12, 400.0
V100_SXM2_FP32_FLOPS, V100_SXM2_TDP_W = 15.7e12, 300.0
FLOP_PER_MAC = 2
# Huang et al., MobiSys 2012: uplink power slope alpha_u (mW per Mb/s) and median LTE uplink (Mb/s).
HUANG_ALPHA_U_MW_PER_MBPS = {"wifi": 283.17, "lte": 438.39}
HUANG_LTE_MEDIAN_UPLINK_MBPS = 6.0


def _cloud(**overrides):
    values = dict(name="test", description="a test cloud", energy_per_mac_pj=40.0, macs_per_s=1e12, latency_s=0.002)
    return CloudConfig(**{**values, **overrides})


def _link(**overrides):
    values = dict(name="test", description="a test link", energy_per_bit_nj=300.0, bandwidth_mbps=20.0, latency_ms=10.0)
    return LinkConfig(**{**values, **overrides})


# ------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("macs", [0, 1, 7, 123_456_789, np.int64(10**12)])
def test_cloud_costs_are_the_closed_forms(macs):
    cloud = CloudProcessor(_cloud())
    assert cloud.energy_j(macs) == pytest.approx(int(macs) * 40e-12, rel=1e-12)
    assert cloud.latency_s(macs) == pytest.approx(0.002 + int(macs) / 1e12, rel=1e-12)


def test_cloud_costs_take_arrays_element_wise():
    cloud = CloudProcessor(_cloud())
    macs = np.array([[0, 5], [10**6, 3 * 10**9]])
    energy, latency = cloud.energy_j(macs), cloud.latency_s(macs)
    assert energy.shape == latency.shape == (2, 2)
    np.testing.assert_allclose(energy, macs * 40e-12, rtol=1e-12, atol=0)
    np.testing.assert_allclose(latency, 0.002 + macs / 1e12, rtol=1e-12, atol=0)
    assert isinstance(cloud.energy_j(5), float)


def test_cloud_mac_action_is_one_mac():
    cloud = CloudProcessor(_cloud())
    mac = cloud.actions["mac"]
    assert (mac.energy_j, mac.latency_s, mac.category) == (pytest.approx(40e-12, rel=1e-12), pytest.approx(1e-12, rel=1e-12),
                                                           "cloud")
    assert (cloud.count, cloud.area_mm2, cloud.static_power_w, cloud.static_category) == (1, 0.0, 0.0, None)


@pytest.mark.parametrize("bits", [0, 1, 8 * 3072, np.uint32(4_000_000_000)])
def test_link_costs_are_the_closed_forms(bits):
    link = Link(_link())
    assert link.energy_j(bits) == pytest.approx(int(bits) * 300e-9, rel=1e-12)
    assert link.latency_s(bits) == pytest.approx(10e-3 + int(bits) / 20e6, rel=1e-12)


def test_link_costs_take_arrays_and_whole_floats():
    link = Link(_link())
    bits = np.array([0.0, 1e6, 2.5e7])
    np.testing.assert_allclose(link.energy_j(bits), bits * 300e-9, rtol=1e-12, atol=0)
    np.testing.assert_allclose(link.latency_s(bits), 10e-3 + bits / 20e6, rtol=1e-12, atol=0)
    action = link.actions["transmit_bit"]
    assert (action.energy_j, action.latency_s, action.category) == (pytest.approx(300e-9, rel=1e-12),
                                                                    pytest.approx(1 / 20e6, rel=1e-12), "link")


def test_zero_latencies_leave_pure_throughput():
    assert CloudProcessor(_cloud(latency_s=0.0)).latency_s(10**12) == pytest.approx(1.0, rel=1e-12)
    assert Link(_link(latency_ms=0.0, bandwidth_mbps=1.0)).latency_s(10**6) == pytest.approx(1.0, rel=1e-12)


# ------------------------------------------------------------------------------ shipped presets
def test_default_cloud_is_the_a100_at_tdp_over_mac_rate():
    assert DEFAULT_CLOUD in cloud_names()
    cfg = load_cloud()
    mac_rate = A100_SXM_FP32_FLOPS / FLOP_PER_MAC
    assert cfg.name == DEFAULT_CLOUD == "gpu-a100"
    assert cfg.macs_per_s == pytest.approx(mac_rate, rel=1e-12)
    assert cfg.energy_per_mac_pj == pytest.approx(A100_SXM_TDP_W / mac_rate * 1e12, rel=1e-12)
    assert CloudProcessor(cfg).energy_j(int(mac_rate)) == pytest.approx(A100_SXM_TDP_W, rel=1e-12)  # 1 s at TDP


def test_v100_preset_is_tdp_over_mac_rate():
    cfg = load_cloud("gpu-v100")
    mac_rate = V100_SXM2_FP32_FLOPS / FLOP_PER_MAC
    assert cfg.energy_per_mac_pj == pytest.approx(V100_SXM2_TDP_W / mac_rate * 1e12, rel=1e-12)
    assert cfg.macs_per_s == pytest.approx(mac_rate, rel=1e-12)


@pytest.mark.parametrize("name", sorted(HUANG_ALPHA_U_MW_PER_MBPS))
def test_huang_uplink_slope_converts_to_the_presets_energy_per_bit(name):
    alpha_w_per_bit_per_s = HUANG_ALPHA_U_MW_PER_MBPS[name] * 1e-3 / 1e6  # W / (b/s) = J/bit
    cfg = load_link(name)
    assert cfg.energy_per_bit_nj == pytest.approx(alpha_w_per_bit_per_s * 1e9, rel=1e-12)
    assert Link(cfg).energy_j(1) == pytest.approx(alpha_w_per_bit_per_s, rel=1e-12)
    assert "Huang" in cfg.source("link.energy_per_bit_nj")


def test_lte_uplink_is_huangs_median():
    assert load_link("lte").bandwidth_mbps == HUANG_LTE_MEDIAN_UPLINK_MBPS


def test_default_link_is_wifi():
    assert DEFAULT_LINK == "wifi" and DEFAULT_LINK in link_names() and load_link().name == "wifi"


@pytest.mark.parametrize("kind,name", [("cloud", n) for n in cloud_names()] + [("link", n) for n in link_names()])
def test_every_shipped_value_has_a_source_or_an_assumption(kind, name):
    cfg = load_cloud(name) if kind == "cloud" else load_link(name)
    assert cfg.name == name
    assert sorted(dict(cfg.sources)) == sorted(f"{kind}.{f}" for f in param_specs(cfg))
    assert all(text.startswith("assumption") or any(c.isdigit() for c in text) for _, text in cfg.sources)


def test_accelerator_preset_listing_ignores_the_subfolders():
    assert not set(presets.names()) & (set(cloud_names()) | set(link_names()) | {"cloud", "link"})
    assert len(cloud_names()) >= 2 and len(link_names()) >= 3


def test_shipped_files_are_package_data():
    with (ROOT / "pyproject.toml").open("rb") as fh:
        globs = tomllib.load(fh)["tool"]["setuptools"]["package-data"]["accel"]
    shipped = [p.relative_to(ROOT / "accel").as_posix() for p in (ROOT / "accel" / "presets").rglob("*.toml")]
    assert [p for p in shipped if not any(fnmatch.fnmatch(p, g) and p.count("/") == g.count("/") for g in globs)] == []


def test_user_file_loads_by_path(tmp_path):
    path = tmp_path / "edge-server.toml"
    path.write_text('name = "edge-server"\ndescription = "a nearby server"\n\n[cloud]\nenergy_per_mac_pj = 10.0\n'
                    'macs_per_s = 1e12\n\n[sources]\n"cloud.energy_per_mac_pj" = "assumption: test"\n')
    for ref in (path, str(path)):
        cfg = load_cloud(ref)
        assert (cfg.name, cfg.energy_per_mac_pj, cfg.macs_per_s, cfg.latency_s) == ("edge-server", 10.0, 1e12, 0.0)
        assert cfg.source("cloud.energy_per_mac_pj") == "assumption: test"


# ------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("value", [0, -5.0])
def test_non_positive_bandwidth_is_refused(rejected, value):
    with rejected(ValueError, "link.bandwidth_mbps", repr(float(value)), "> 0"):
        _link(bandwidth_mbps=value)


def test_out_of_range_cloud_fields_are_refused(rejected):
    with rejected(ValueError, "cloud.macs_per_s", "0.0", "> 0"):
        _cloud(macs_per_s=0)
    with rejected(ValueError, "cloud.latency_s", "-1.0", ">= 0"):
        _cloud(latency_s=-1)
    with rejected(TypeError, "cloud.energy_per_mac_pj", "real number"):
        _cloud(energy_per_mac_pj="41")
    with rejected(TypeError, "cloud.name", "non-empty string"):
        _cloud(name="")


@pytest.mark.parametrize("bits,exc,words", [
    (-1, ValueError, ("bits=-1", "whole numbers >= 0")),
    (2.5, ValueError, ("bits=2.5", "whole numbers >= 0")),
    (np.array([3, -2]), ValueError, ("bits=-2", "index [1]")),
    (float("nan"), ValueError, ("bits=nan",)),
    (True, TypeError, ("bits", "count")),
    ("8", TypeError, ("bits", "count")),
])
def test_bad_bit_counts_are_refused(rejected, bits, exc, words):
    link = Link(_link())
    with rejected(exc, *words):
        link.energy_j(bits)
    with rejected(exc, *words):
        link.latency_s(bits)


def test_bad_mac_counts_are_refused(rejected):
    cloud = CloudProcessor(_cloud())
    with rejected(ValueError, "macs=-3"):
        cloud.energy_j(-3)
    with rejected(ValueError, "macs=0.5"):
        cloud.latency_s(np.array([1.0, 0.5]))


def test_unknown_preset_names_list_the_allowed_ones(rejected):
    with rejected(ValueError, "'gpu-h900'", *cloud_names()):
        load_cloud("gpu-h900")
    with rejected(ValueError, "'satellite'", *link_names()):
        load_link("satellite")
    with rejected(FileNotFoundError, "missing.toml"):
        load_link("missing.toml")


def _write(tmp_path, text):
    path = tmp_path / "link.toml"
    path.write_text(text)
    return path


GOOD_LINK = 'name = "x"\ndescription = "y"\n\n[link]\nenergy_per_bit_nj = 1.0\nbandwidth_mbps = 2.0\nlatency_ms = 3.0\n'


def test_unknown_and_missing_toml_keys_are_named(tmp_path, rejected):
    assert load_link(_write(tmp_path, GOOD_LINK)).bandwidth_mbps == 2.0
    with rejected(KeyError, "link.toml", "'link.jitter_ms'", "bandwidth_mbps"):
        load_link(_write(tmp_path, GOOD_LINK + "jitter_ms = 1.0\n"))
    with rejected(KeyError, "unknown key 'owner'", "sources"):
        load_link(_write(tmp_path, 'owner = "me"\n' + GOOD_LINK))
    with rejected(KeyError, "missing key 'link.latency_ms'"):
        load_link(_write(tmp_path, GOOD_LINK.replace("latency_ms = 3.0\n", "")))
    with rejected(KeyError, "sources key 'link.bandwidth'", "link.bandwidth_mbps"):
        load_link(_write(tmp_path, GOOD_LINK + '\n[sources]\n"link.bandwidth" = "somewhere"\n'))
    with rejected(ValueError, "link.bandwidth_mbps=0.0", "> 0"):
        load_link(_write(tmp_path, GOOD_LINK.replace("bandwidth_mbps = 2.0", "bandwidth_mbps = 0.0")))
    with rejected(ValueError, "not valid TOML"):
        load_link(_write(tmp_path, "name = \n"))


def test_a_cloud_file_is_not_a_link(rejected):
    with rejected(KeyError, "unknown key 'cloud'"):
        load_link(table_presets.PRESET_ROOT / "cloud" / f"{DEFAULT_CLOUD}.toml")


def test_components_refuse_other_configurations(rejected):
    with rejected(TypeError, "accel.cloud.CloudConfig", "LinkConfig"):
        CloudProcessor(_link())
    with rejected(TypeError, "accel.link.LinkConfig", "CloudConfig"):
        Link(_cloud())
