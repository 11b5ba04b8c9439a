"""The default ``robinsim run`` (what ``make run`` does), timed end to end in a fresh process.

Target (issue #14 item 18): under 3 minutes on this machine with the venv in place. The run
writes into a temporary directory that is removed afterwards; the figure includes Python start-up,
the nominal tuning, the accuracy of every default preset's chips, the drift sweep and the claims.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

TARGET_S = 180.0


def main() -> None:
    robinsim = os.path.join(os.path.dirname(sys.executable), "robinsim")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        done = subprocess.run([robinsim, "run", "--out", out, "--quiet"], capture_output=True, text=True)
        wall_s = time.perf_counter() - t0
    if done.returncode:
        print(f"robinsim run failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return
    print(f"default `robinsim run`: {wall_s:.0f} s = {wall_s / 60:.1f} min (target < {TARGET_S / 60:.0f} min) "
          f"[{'ok' if wall_s < TARGET_S else 'MISSED'}]")


if __name__ == "__main__":
    main()
