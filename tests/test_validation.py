"""photonics.validation: interval bounds, the param field helper and its one validation routine.

Expected behaviour comes from the module's contract (interval notation, kinds from the
annotation, errors naming key, value and allowed bounds), written out by hand here.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from photonics.validation import (
    Allowed,
    Parameters,
    build,
    check_scalar,
    check_value,
    param,
    param_specs,
    parse_text,
)


@dataclass(frozen=True)
class Demo(Parameters):
    gain: float = param("(0, 1]", unit="W", default=0.5, doc="a fraction")
    count: int = param("[1, 10]", default=3, doc="a count")
    enabled: bool = param(default=True, doc="a switch")
    offset_k: float = param(unit="K", default=0.0, doc="any finite value")
    limit_mw: float | None = param("[0, inf)", unit="mW", default=None, doc="optional")


@dataclass(frozen=True)
class Prefixed(Parameters):
    key_prefix: ClassVar[str] = "demo"
    rate: float = param("(0, 100)", default=1.0)


# ------------------------------------------------------------------------------ Allowed
@pytest.mark.parametrize("text, lo, hi, lo_open, hi_open", [
    ("[1, 512]", 1, 512, False, False),
    ("(0, 1)", 0, 1, True, True),
    ("(0, 1000]", 0, 1000, True, False),
    ("[0, inf)", 0, None, False, True),
    ("(-inf, inf)", None, None, True, True),
    ("[-100, 2e2]", -100, 200.0, False, False),
])
def test_interval_notation(text, lo, hi, lo_open, hi_open):
    assert Allowed.parse(text) == Allowed(lo, hi, lo_open, hi_open)


@pytest.mark.parametrize("text, inside, outside", [
    ("[1, 512]", [1, 512, 100], [0, 513, 0.999]),
    ("(0, 1)", [1e-300, 0.5, 1 - 1e-16], [0.0, 1.0, -1.0]),
    ("(0, 1000]", [1000.0], [0.0, 1000.0001]),
    ("[0, inf)", [0.0, 1e300], [-1e-300]),
])
def test_contains_respects_open_and_closed_ends(text, inside, outside):
    allowed = Allowed.parse(text)
    assert all(allowed.contains(v) for v in inside)
    assert not any(allowed.contains(v) for v in outside)


def test_bounds_text():
    assert Allowed.parse("(0, 1000]").text(float, "Gb/s") == "> 0.0 Gb/s and <= 1000.0 Gb/s"
    assert Allowed.parse("[1, 512]").text(int) == ">= 1 and <= 512"
    assert Allowed.parse("[0, inf)").text(float) == ">= 0.0"
    assert Allowed.parse("(-inf, inf)").text(float) == "any value"


@pytest.mark.parametrize("text, exc", [
    ("1, 2", ValueError), ("[1; 2]", ValueError), ("[2, 1]", ValueError), ("[inf, inf)", ValueError),
    ("[0, inf]", ValueError), ("[-inf, 0]", ValueError), ("[a, 1]", ValueError), ("[nan, 1]", ValueError),
    (3, TypeError),
])
def test_bad_interval_notation_is_rejected(text, exc):
    with pytest.raises(exc, match="allowed"):
        Allowed.parse(text)


# ------------------------------------------------------------------------------ the field helper
def test_kinds_come_from_the_annotation():
    specs = param_specs(Demo)
    assert [(s.name, s.kind, s.optional) for s in specs.values()] == [
        ("gain", float, False), ("count", int, False), ("enabled", bool, False), ("offset_k", float, False),
        ("limit_mw", float, True)]
    assert specs["gain"].unit == "W" and specs["gain"].doc == "a fraction"
    assert param_specs(Demo()) is specs


def test_defaults_and_conversion():
    d = Demo(gain=1, count=np.int64(4), enabled=np.bool_(False), limit_mw=np.float32(2.5))
    assert d == Demo(gain=1.0, count=4, enabled=False, limit_mw=2.5)
    assert type(d.gain) is float and type(d.count) is int and type(d.enabled) is bool and type(d.limit_mw) is float
    assert Demo(gain=np.array(0.25)).gain == 0.25  # a 0-d array is a scalar
    assert Demo().limit_mw is None


def test_frozen_and_hashable():
    d = Demo()
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.gain = 0.1
    assert hash(Demo(gain=1)) == hash(Demo(gain=1.0))


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"gain": 0.0}, ValueError, ["gain=0.0", "out of range", "> 0.0 W", "<= 1.0 W"]),
    ({"gain": 1.5}, ValueError, ["gain=1.5", "<= 1.0 W"]),
    ({"gain": math.nan}, ValueError, ["gain=nan", "not finite", "> 0.0 W"]),
    ({"offset_k": -math.inf}, ValueError, ["offset_k=-inf", "not finite", "any value"]),
    ({"gain": True}, TypeError, ["gain", "real number", "True"]),
    ({"gain": "0.5"}, TypeError, ["gain", "real number", "'0.5'"]),
    ({"gain": [0.5, 0.6]}, TypeError, ["gain", "scalar", "(2,)"]),
    ({"gain": None}, TypeError, ["gain is required", "> 0.0 W"]),
    ({"count": 2.0}, TypeError, ["count must be an int", "2.0", "integer >= 1 and <= 10"]),
    ({"count": True}, TypeError, ["count must be an int", "True"]),
    ({"count": 0}, ValueError, ["count=0", ">= 1 and <= 10"]),
    ({"enabled": 1}, TypeError, ["enabled must be a bool", "1"]),
    ({"enabled": "yes"}, TypeError, ["enabled must be a bool", "'yes'"]),
    ({"limit_mw": -1.0}, ValueError, ["limit_mw=-1.0", ">= 0.0 mW"]),
])
def test_bad_values_name_key_value_and_bounds(rejected, kwargs, exc, words):
    with rejected(exc, *words):
        Demo(**kwargs)


def test_errors_name_the_key_prefix_or_the_build_prefix(rejected):
    with rejected(ValueError, "demo.rate=100.0", "< 100.0"):
        Prefixed(rate=100.0)
    with rejected(ValueError, "table.rate=0.0", "> 0.0"):
        build(Prefixed, {"rate": 0.0}, prefix="table")
    with rejected(ValueError, "demo.rate=-1.0"):  # the build prefix does not outlive the call
        Prefixed(rate=-1.0)
    with rejected(ValueError, "demo.rate=-2.0"):  # dataclasses.replace validates again
        dataclasses.replace(Prefixed(), rate=-2.0)


def test_a_param_field_must_be_bool_int_or_float():
    @dataclass(frozen=True)
    class Bad(Parameters):
        label: str = param(default="x")

    with pytest.raises(TypeError, match="Bad.label"):
        Bad()


# ------------------------------------------------------------------------------ single values
def test_check_scalar(rejected):
    assert check_scalar("pitch_um", 5, "(0, inf)", unit="um") == 5.0
    with rejected(ValueError, "pitch_um=0", "> 0.0 um"):
        check_scalar("pitch_um", 0, "(0, inf)", unit="um")
    with rejected(TypeError, "pitch_um", "scalar"):
        check_scalar("pitch_um", np.array([1.0, 2.0]), "(0, inf)")
    assert check_scalar("bits", None, "[1, 16]", kind=int, optional=True) is None


def test_parse_text_and_bounds_off(rejected):
    specs = param_specs(Demo)
    assert parse_text("n", " 8 ", specs["count"]) == 8
    assert parse_text("g", "12.5", specs["gain"]) == 12.5
    assert parse_text("e", "False", specs["enabled"]) is False
    assert parse_text("l", "none", specs["limit_mw"]) is None
    with rejected(ValueError, "n: value 'ten' is not a valid int"):
        parse_text("n", "ten", specs["count"])
    with rejected(ValueError, "e: value 'yes' is not a valid bool"):
        parse_text("e", "yes", specs["enabled"])
    assert check_value("g", 12.5, specs["gain"], bounds=False) == 12.5
    with rejected(ValueError, "g=12.5", "<= 1.0 W"):
        check_value("g", 12.5, specs["gain"])
