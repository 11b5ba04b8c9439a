"""Run every ``bench/bench_*.py`` module's ``main()`` in name order (``make bench``).

``python -m bench photonics`` runs only the modules whose name contains ``photonics``.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench
from mapping.functional import keep_freed_memory


def main(argv: list[str]) -> int:
    # as the robinsim command does: freed arrays keep their pages (mapping.functional.allocator)
    print(f"keep_freed_memory: {'applied' if keep_freed_memory() else 'not available (no glibc)'}")
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        module.main()
        print(f"--- {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
