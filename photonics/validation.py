"""Argument and parameter validation shared by every layer (``photonics`` is the base layer).

Every public function checks its inputs here *before* they reach a Numba kernel or a long
run. Each error names the argument, the offending value and the allowed bounds, e.g.::

    ValueError: radius_um=-3.0 is out of range; allowed: > 0.0 um

Parameter classes (device models, configuration sections, simulation settings) are frozen
dataclasses derived from :class:`Parameters` whose fields are declared with :func:`param`:
allowed bounds in interval notation (``"[1, 512]"``, ``"(0, 1)"``, ``"[0, inf)"``), unit and a
short doc. The field's annotation gives its kind: ``bool``, ``int`` or ``float``, and
``X | None`` makes None a valid value. Construction checks and converts every declared field
once (ints become floats for float fields); errors name the field as its class's key prefix
plus the field name (``architecture.units``, ``NoiseSettings.scale``) or, without a prefix,
as the argument name (``eo_range_nm``). :func:`build` constructs a class with another prefix
(e.g. the TOML table a section was read from).
"""
from __future__ import annotations

import contextvars
import dataclasses
import functools
import math
import numbers
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "to_float_array",
    "as_float_array",
    "check_finite",
    "check_range",
    "check_positive",
    "check_int",
    "check_seed",
    "check_xy_um",
    "Allowed",
    "ParamSpec",
    "param",
    "Parameters",
    "param_specs",
    "check_value",
    "check_scalar",
    "parse_text",
    "build",
]


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value.item() if hasattr(value, "item") else value)
    return f"array(shape={arr.shape}, min={np.nanmin(arr) if arr.size else 'n/a'}, max={np.nanmax(arr) if arr.size else 'n/a'})"


def to_float_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float64 array (no copy when it is one); reject non-numeric input.

    NaN/inf pass: for callers that check finiteness themselves (e.g. inside a Numba kernel's
    own pass); :func:`as_float_array` is the checked form.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {type(value).__name__} {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of real numbers, got {value!r}") from exc


def as_float_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float64 array; reject non-numeric input and NaN/inf."""
    arr = to_float_array(name, value)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name} contains a non-finite value ({bad}); allowed: finite real numbers")
    return arr


def check_finite(name: str, value) -> np.ndarray:
    """Alias of :func:`as_float_array` for readability at call sites."""
    return as_float_array(name, value)


def _bounds_text(lo, hi, lo_inclusive: bool, hi_inclusive: bool, unit: str) -> str:
    u = f" {unit}" if unit else ""
    parts = []
    if lo is not None:
        parts.append(f"{'>=' if lo_inclusive else '>'} {lo}{u}")
    if hi is not None:
        parts.append(f"{'<=' if hi_inclusive else '<'} {hi}{u}")
    return " and ".join(parts)


def check_range(
    name: str,
    value,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_inclusive: bool = True,
    hi_inclusive: bool = True,
    unit: str = "",
):
    """Check ``lo <= value <= hi`` (bounds optional, open or closed) element-wise.

    Returns the value as a float (scalar input) or float64 array.
    """
    arr = as_float_array(name, value)
    bad = np.zeros(arr.shape, dtype=bool)
    if lo is not None:
        bad |= (arr < lo) if lo_inclusive else (arr <= lo)
    if hi is not None:
        bad |= (arr > hi) if hi_inclusive else (arr >= hi)
    if np.any(bad):
        offending = arr[bad].ravel()[0] if arr.ndim else arr.item()
        shown = _show(value) if arr.ndim == 0 else f"{offending} (in {_show(value)})"
        raise ValueError(f"{name}={shown} is out of range; allowed: {_bounds_text(lo, hi, lo_inclusive, hi_inclusive, unit)}")
    return float(arr) if arr.ndim == 0 else arr


def check_positive(name: str, value, unit: str = ""):
    """Check ``value > 0`` element-wise."""
    return check_range(name, value, 0.0, None, lo_inclusive=False, unit=unit)


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Check that ``value`` is an integer (not bool) within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{name}={v} is out of range; allowed: {_bounds_text(lo, hi, True, True, '')}")
    return v


def check_seed(name: str, value) -> int:
    """A seed is a non-negative int (what ``numpy.random.SeedSequence`` accepts)."""
    return check_int(name, value, lo=0)


def check_xy_um(name: str, value) -> np.ndarray:
    """Coordinates in micrometres: a finite float array of shape (n, 2)."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_rings, 2) of (x, y) in micrometres, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one ring position, got shape {arr.shape}")
    return arr


# ------------------------------------------------------------------------------ parameter fields
@dataclass(frozen=True)
class Allowed:
    """Allowed bounds of a numeric parameter: ``lo``/``hi`` (None = unbounded), open or closed.

    Written in interval notation (:meth:`parse`): ``"[1, 512]"``, ``"(0, 1)"``, ``"(0, 1000]"``,
    ``"[0, inf)"``, ``"(-inf, inf)"`` (any finite value).
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    @classmethod
    def parse(cls, text: str) -> "Allowed":
        """Bounds from interval notation; ``inf`` ends are unbounded (and always open)."""
        if not isinstance(text, str):
            raise TypeError(f"allowed must be an interval such as '[0, 1)', got {type(text).__name__} {text!r}")
        s = text.strip()
        if len(s) < 5 or s[0] not in "[(" or s[-1] not in "])" or s[1:-1].count(",") != 1:
            raise ValueError(f"allowed={text!r} is not an interval; allowed: '[lo, hi]' with '(' or ')' for an open end")
        lo_text, hi_text = (p.strip() for p in s[1:-1].split(","))
        try:
            lo, hi = _number(lo_text), _number(hi_text)
        except ValueError:
            raise ValueError(f"allowed={text!r} has a bound that is not a number") from None
        if math.isnan(lo) or math.isnan(hi) or lo == math.inf or hi == -math.inf or lo > hi:
            raise ValueError(f"allowed={text!r} is empty; allowed: lo <= hi")
        if (math.isinf(lo) and s[0] == "[") or (math.isinf(hi) and s[-1] == "]"):
            raise ValueError(f"allowed={text!r}: an infinite end must be open, '(' or ')'")
        return cls(None if math.isinf(lo) else lo, None if math.isinf(hi) else hi, s[0] == "(", s[-1] == ")")

    def contains(self, value: float) -> bool:
        """True when ``value`` lies within the bounds."""
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))

    def text(self, kind: type = float, unit: str = "") -> str:
        """The bounds as ``">= 1 and <= 512"`` (bounds shown as ``kind``), ``"any value"`` if none."""
        lo, hi = (None if b is None else kind(b) for b in (self.lo, self.hi))
        return _bounds_text(lo, hi, not self.lo_open, not self.hi_open, unit) or "any value"

    def __str__(self) -> str:
        return self.text()


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text)


@dataclass(frozen=True)
class Choices:
    """Allowed values of a string parameter, written ``"{none, laser, tec, ideal}"``."""

    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "Choices":
        s = text.strip()
        if not (s.startswith("{") and s.endswith("}")) or not s[1:-1].strip():
            raise ValueError(f"allowed={text!r} is not a set of choices; allowed: '{{a, b, ...}}'")
        return cls(tuple(v.strip() for v in s[1:-1].split(",")))

    def contains(self, value) -> bool:
        return value in self.values

    def text(self, kind: type = str, unit: str = "") -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class ParamSpec:
    """What :func:`param` declares about a field; ``kind``/``optional`` come from its annotation."""

    name: str
    kind: type
    optional: bool
    allowed: Allowed | None
    unit: str
    doc: str

    def allowed_text(self) -> str:
        """The allowed values in words (``"integer >= 1 and <= 512"``, ``"true or false"``)."""
        if self.kind is bool:
            return "true or false"
        bounds = Allowed().text() if self.allowed is None else self.allowed.text(self.kind, self.unit)
        return f"integer {bounds}" if self.kind is int else bounds


_META_KEY = "robinsim.param"


def param(allowed: str | None = None, *, unit: str = "", doc: str = "", default: Any = dataclasses.MISSING):
    """A dataclass field of a :class:`Parameters` class.

    ``allowed``: bounds in interval notation (:meth:`Allowed.parse`), None for any finite value
    (or for a bool field); ``unit`` is shown with the bounds in errors; ``doc`` says what the
    field is. ``default``: the value when the argument is left out (none: required).
    """
    if allowed is not None and allowed.strip().startswith("{"):
        bounds = Choices.parse(allowed)
    else:
        bounds = None if allowed is None else Allowed.parse(allowed)
    meta = {_META_KEY: (bounds, unit, doc)}
    return dataclasses.field(default=default, metadata=meta)


_KINDS = {float: float, int: int, bool: bool, str: str}
_SPECS: dict[type, dict[str, ParamSpec]] = {}


def param_specs(cls) -> dict[str, ParamSpec]:
    """``{field name: ParamSpec}`` of the :func:`param` fields of a dataclass (class or instance), in order."""
    cls = cls if isinstance(cls, type) else type(cls)
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = {}
        for f in dataclasses.fields(cls):
            if _META_KEY not in f.metadata:
                continue
            hint = hints[f.name]
            args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
            kinds = [a for a in args if a is not type(None)]
            if len(kinds) != 1 or kinds[0] not in _KINDS:
                raise TypeError(f"{cls.__name__}.{f.name}: a param field must be annotated bool, int, float or str (with choices) (or X | None), got {hint}")
            allowed, unit, doc = f.metadata[_META_KEY]
            if (kinds[0] is str) != isinstance(allowed, Choices):
                raise TypeError(f"{cls.__name__}.{f.name}: a str param field needs its choices ('{{a, b}}') and only a "
                                f"str field takes choices; got {hint} with allowed={allowed}")
            specs[f.name] = ParamSpec(f.name, kinds[0], len(kinds) < len(args), allowed, unit, doc)
        _SPECS[cls] = specs
    return specs


def check_value(key: str, value: Any, spec: ParamSpec, *, bounds: bool = True) -> Any:
    """``value`` checked against ``spec`` (kind, None-ability, finiteness and, with ``bounds``,
    the allowed bounds) and converted to the field's kind; errors name ``key``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if value is None:
        if spec.optional:
            return None
        raise TypeError(f"{key} is required; allowed: {spec.allowed_text()}")
    if isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{key} must be a scalar, got {type(value).__name__} of shape {np.shape(value)}; allowed: {spec.allowed_text()}")
    if spec.kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be a bool (true/false), got {type(value).__name__} {value!r}")
        return bool(value)
    if spec.kind is str:
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a string, got {type(value).__name__} {value!r}; allowed: {spec.allowed_text()}")
        if bounds and spec.allowed is not None and not spec.allowed.contains(value):
            raise ValueError(f"{key}={value!r} is not allowed; allowed: {spec.allowed_text()}")
        return value
    if spec.kind is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}; allowed: {spec.allowed_text()}")
        value = int(value)
    else:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{key} must be a real number, got {type(value).__name__} {value!r}; allowed: {spec.allowed_text()}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{key}={value!r} is not finite; allowed: {spec.allowed_text()}")
    if bounds and spec.allowed is not None and not spec.allowed.contains(value):
        raise ValueError(f"{key}={value!r} is out of range; allowed: {spec.allowed.text(spec.kind, spec.unit)}")
    return value


@functools.lru_cache(maxsize=256)
def _scalar_spec(name: str, kind: type, optional: bool, allowed: str | None, unit: str) -> ParamSpec:
    return ParamSpec(name, kind, optional, None if allowed is None else Allowed.parse(allowed), unit, "")


def check_scalar(name: str, value: Any, allowed: str | None = None, *, kind: type = float, unit: str = "",
                 optional: bool = False) -> Any:
    """One scalar argument checked and converted like a :func:`param` field of that kind and bounds."""
    return check_value(name, value, _scalar_spec(name, kind, optional, allowed, unit))


def parse_text(key: str, text: str, spec: ParamSpec) -> Any:
    """A value of ``spec``'s kind from command-line or file text (``"8"``, ``"12.5"``, ``"true"``,
    ``"none"`` for an optional field); not yet checked against the bounds."""
    t = text.strip()
    if spec.optional and t.lower() == "none":
        return None
    try:
        if spec.kind is bool:
            if t.lower() not in ("true", "false"):
                raise ValueError
            return t.lower() == "true"
        return spec.kind(t)
    except ValueError:
        raise ValueError(f"{key}: value {t!r} is not a valid {spec.kind.__name__}") from None


_PREFIX: contextvars.ContextVar[str | None] = contextvars.ContextVar("robinsim_param_prefix", default=None)


class Parameters:
    """Base of frozen parameter dataclasses: construction checks and converts every :func:`param`
    field once (:func:`check_value`). ``key_prefix``: how errors name the class's fields
    (``"<prefix>.<field>"``; empty: the bare field name, as an argument). Subclasses with
    cross-field checks extend ``__post_init__`` (calling this one first)."""

    key_prefix: ClassVar[str] = ""

    def __post_init__(self):
        prefix = _PREFIX.get()
        prefix = self.key_prefix if prefix is None else prefix
        for name, spec in param_specs(self).items():
            key = f"{prefix}.{name}" if prefix else name
            object.__setattr__(self, name, check_value(key, getattr(self, name), spec))


def build(cls, values: dict, *, prefix: str):
    """``cls(**values)`` with errors naming the fields ``"<prefix>.<field>"`` instead of the class's own prefix."""
    token = _PREFIX.set(prefix)
    try:
        return cls(**values)
    finally:
        _PREFIX.reset(token)
