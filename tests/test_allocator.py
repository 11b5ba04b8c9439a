"""mapping.functional.allocator: freed large blocks keep their pages (glibc), checked by page-fault counts."""
import platform
import subprocess
import sys

import pytest

from mapping.functional import keep_freed_memory

# Allocate, touch and free a 128 MB torch tensor four times: print the minor page faults of the
# last (32,768 pages of 4 kB when its memory comes fresh from the kernel; torch's CPU allocator
# takes it from malloc, unlike NumPy, which asks for huge pages). The first rounds may still
# grow the heap (an aligned request is a little larger than the block freed before it).
_PROBE = """
import resource, sys
import torch
from mapping.functional.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    f0 = faults()
    a = torch.ones(2**24, dtype=torch.float64)
    del a
print(faults() - f0)
"""
_PAGES = 2**24 * 8 // 4096


def _last_round_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    """Default glibc: a freed 128 MB block is unmapped, so touching a new one faults on every page;
    after keep_freed_memory the heap keeps it and later blocks reuse its pages."""
    assert _last_round_faults("default") > _PAGES // 2
    assert _last_round_faults("keep") < _PAGES // 100


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (2**31, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_trim_bytes_is_refused(bad, error):
    with pytest.raises(error, match="trim_bytes"):
        keep_freed_memory(bad)
