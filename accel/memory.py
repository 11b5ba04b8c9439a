"""Memory estimate of the chip-level arrays, checked before they are allocated.

A configuration's per-ring arrays grow with its ``units * M * N * 2`` activation and weight rings
(:func:`rings`); ``units = 1000000`` of ``robin-eo`` is 2e8 rings, far beyond a workstation. Each
entry point that allocates them first compares this module's estimate with the memory the process
can still get (:func:`available_bytes`) and refuses with :class:`MemoryLimitError` (a
``ValueError`` naming the estimate and the limit) instead of being killed by the kernel.

Byte model (peak bytes of new allocations, per ring of the full configuration):

* :data:`FLOORPLAN_BYTES_PER_RING` = 64: ``accel.floorplan.build_floorplan`` keeps x, y (float64)
  and unit, vdu, channel, role (int64), 48 B per ring, plus its temporaries;
* :data:`NOMINAL_BYTES_PER_RING` = 80 plus :data:`NOMINAL_SOLVE_BYTES` = 64 MiB: the nominal tuning
  power (``accel.components.Tuner.nominal``) builds its own floorplan and the (n_rings, 2) position
  array, then tunes at most ``accel.components.tuner._SOLVE_RINGS`` sampled rings per solve, a
  bound independent of the configuration's size;
* :data:`CHIP_BYTES_PER_RING` = 640: one chip of the chip pipeline (``accel.chip.sample_chip`` with
  the cell coefficients; the floorplan already built): variation fields, shifts, the tuning
  solve's per-ring arrays and temporaries, residuals, couplings, coefficients.

Calibration (tracemalloc peak of new allocations, this repository, NumPy 2, Python 3.12;
``robin-eo`` at units 200 / 800 = 40,000 / 160,000 rings, ``lightbulb`` at 200 / 800 = 25,600 /
102,400 rings): ``build_floorplan`` 57.8 / 56.4 and 64.1 / 56.7 B per ring; the nominal tuning
(floorplan built) 10.3 MB at 160,000 rings of robin-eo (64 B per ring, the solve of 81,920 sampled
rings included) and 21.0 MB at 102,400 rings of lightbulb (131,072 sampled rings); ``sample_chip``
746 / 570 B per ring (robin-eo, the first call including one-time caches) and 475 / 455 B per ring
(lightbulb). The constants above are the largest steady-state figure rounded up. The estimate is
meant to stop inputs orders of magnitude beyond the machine, not to predict a run to the megabyte.
"""
from __future__ import annotations


__all__ = ["FLOORPLAN_BYTES_PER_RING", "NOMINAL_BYTES_PER_RING", "NOMINAL_SOLVE_BYTES", "CHIP_BYTES_PER_RING",
           "MemoryLimitError", "rings", "available_bytes", "floorplan_bytes", "nominal_tuning_bytes", "chip_bytes",
           "format_bytes", "check_fits"]

#: Peak bytes per ring of ``accel.floorplan.build_floorplan`` (module docstring).
FLOORPLAN_BYTES_PER_RING = 64
#: Peak bytes per ring of the nominal tuning power's own floorplan and position array.
NOMINAL_BYTES_PER_RING = 80
#: Bound on the nominal tuning's sampled-bank solve, whatever the configuration's size.
NOMINAL_SOLVE_BYTES = 64 * 2**20
#: Peak bytes per ring of one chip of ``accel.chip.sample_chip`` (coefficients included).
CHIP_BYTES_PER_RING = 640


class MemoryLimitError(ValueError):
    """A run or array whose estimated memory exceeds what the process can get (message: both)."""


def rings(config) -> int:
    """Activation and weight rings of ``config``'s floorplan arrays: ``units * M * N * 2``."""
    return int(config.units) * int(config.M) * int(config.N) * 2


def _proc_kib_field(path: str, key: str) -> int | None:
    """Bytes of the ``key:`` line (in kB) of a ``/proc`` file, or None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _meminfo_available() -> int | None:
    available = _proc_kib_field("/proc/meminfo", "MemAvailable")
    if available is not None:
        return available
    try:
        import psutil  # noqa: F401 - optional
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def _address_space_used() -> int:
    return _proc_kib_field("/proc/self/status", "VmSize") or 0


def available_bytes() -> tuple[int | None, str]:
    """``(bytes, source)``: what this process can still allocate, the smaller of the machine's
    available memory (``MemAvailable`` of /proc/meminfo, else psutil) and, when ``RLIMIT_AS`` is set,
    its soft limit less the address space already in use (``VmSize``). ``(None, ...)`` when neither
    is known (no check)."""
    limits = []
    avail = _meminfo_available()
    if avail is not None:
        limits.append((avail, "available memory (MemAvailable)"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limits.append((max(0, soft - _address_space_used()),
                           f"RLIMIT_AS {format_bytes(soft)} less {format_bytes(_address_space_used())} in use"))
    except (ImportError, OSError, ValueError):
        pass
    if not limits:
        return None, "unknown"
    return min(limits, key=lambda t: t[0])


def format_bytes(n: float) -> str:
    """``n`` bytes as text in binary units (``"1.5 GiB"``)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def floorplan_bytes(config) -> int:
    """Estimated peak bytes of building ``config``'s floorplan."""
    return FLOORPLAN_BYTES_PER_RING * rings(config)


def nominal_tuning_bytes(config) -> int:
    """Estimated peak bytes of sampling ``config``'s nominal tuning power (0 with a fixed power per ring)."""
    if config.tuning.fixed_power_per_ring_mw is not None:
        return 0
    return NOMINAL_BYTES_PER_RING * rings(config) + NOMINAL_SOLVE_BYTES


def chip_bytes(config) -> int:
    """Estimated peak bytes of one chip of the chip pipeline (floorplan already built)."""
    return CHIP_BYTES_PER_RING * rings(config)


def _describe(config) -> str:
    return f" for {rings(config):,} rings (units x M x N x 2 = {config.units} x {config.M} x {config.N} x 2)"


def check_fits(parts: dict, what: str, config=None) -> int:
    """Total of ``parts`` (``{name: bytes}``) if it fits in :func:`available_bytes`, else
    :class:`MemoryLimitError` naming ``what``, ``config``, the estimate with its parts and the limit."""
    total = int(sum(parts.values()))
    limit, source = available_bytes()
    if limit is not None and total > limit:
        shown = ", ".join(f"{k} {format_bytes(v)}" for k, v in parts.items() if v)
        about = _describe(config) if config is not None else ""
        raise MemoryLimitError(
            f"{what} needs an estimated {format_bytes(total)}{about} ({shown}), more than the limit of "
            f"{format_bytes(limit)} ({source}); allowed: a configuration or run within it (fewer units, VDUs, "
            "wavelengths or images; byte model in accel.memory)")
    return total
