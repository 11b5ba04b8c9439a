"""Keep freed memory for reuse: glibc's malloc tuned for the simulator's large transient arrays.

A chip's functional simulation allocates and frees arrays of tens to hundreds of MB per batch
(converted inputs and sums, sign maps, kernel scratch). glibc serves every block above its mmap
threshold (at most 32 MB) with a fresh ``mmap`` and unmaps it on ``free``, so each batch pays a
page fault and the kernel's zeroing for every 4 kB page it touches again. Measured on mnist-cnn,
10,000 MNIST test images (2026-12-03, this machine): about 600,000 minor faults (2.4 GB) and
1-2 s of system time per robin-eo chip, a third of its CPU time; 4 chips of each shipped preset
took 44 s with the default allocator and 27 s after :func:`keep_freed_memory`, whose resident
size stayed flat at 2.06 GB over the 12 chips (peak 1.86 GB before).

:func:`keep_freed_memory` sets ``M_MMAP_MAX = 0`` (every block from the heap) and
``M_TRIM_THRESHOLD`` (free memory kept at the heap's top up to that many bytes instead of being
returned), so later batches reuse the pages. It is process-wide and stays for the process's life:
the resident size then stays near the run's peak instead of shrinking between phases. The
``robinsim`` command and ``make bench`` call it at start; the Python API leaves the allocator
alone unless the caller calls it. Without glibc (macOS, musl) it does nothing and returns False.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

from photonics.validation import check_int

__all__ = ["keep_freed_memory", "DEFAULT_TRIM_BYTES"]

#: Free memory kept at the heap's top (bytes): above one batch's working set of the shipped
#: models (about 0.6 GB for mnist-cnn on robin-eo), so consecutive batches and chips reuse it.
DEFAULT_TRIM_BYTES = 1 << 30

# mallopt parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory(trim_bytes: int = DEFAULT_TRIM_BYTES) -> bool:
    """Ask glibc's malloc to serve large blocks from its heap and keep up to ``trim_bytes`` (>= 0)
    of freed memory for reuse (module docstring). Returns True when applied, False without glibc."""
    trim_bytes = check_int("trim_bytes", trim_bytes, lo=0, hi=2**31 - 1)
    if platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, trim_bytes))
