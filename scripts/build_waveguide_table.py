"""Build photonics/data/strip_te0.npz: the mode solver on a grid over the waveguide validity box.

Usage (from the repository root; about 5 minutes on one core):

    .venv/bin/python scripts/build_waveguide_table.py [--jobs N] [--out PATH]

Stores the grid axes, the solver's n_eff, n_g and dn_eff/dT at every node (``values``,
shape (n_width, n_thickness, n_wavelength, 3)) and the solver settings. The file is written
to a temporary name and moved into place, so an interrupted run leaves the old table intact.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from photonics import waveguide

# Width nodes are geometric (n_eff changes fastest for narrow guides); thickness and
# wavelength are uniform. Each axis spans exactly the validity box.
WIDTH_NM = np.geomspace(*waveguide.WIDTH_RANGE_NM, 40)
THICKNESS_NM = np.linspace(*waveguide.THICKNESS_RANGE_NM, 9)
WAVELENGTH_NM = np.linspace(*waveguide.WAVELENGTH_RANGE_NM, 5)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "photonics" / "data" / "strip_te0.npz"


def _solve_row(w, thickness_nm, wavelength_nm):
    """All thicknesses and wavelengths for one width (one task per width)."""
    row = np.empty((thickness_nm.size, wavelength_nm.size, 3))
    for j, t in enumerate(thickness_nm):
        for k, lam in enumerate(wavelength_nm):
            m = waveguide.solve_mode(w, t, lam)
            row[j, k] = (m.n_eff, m.n_g, m.dneff_dT_per_K)
    return row


def build(out: Path, jobs: int, width_nm=WIDTH_NM, thickness_nm=THICKNESS_NM, wavelength_nm=WAVELENGTH_NM) -> None:
    """Solve every grid node (``jobs`` processes) and write the table atomically to ``out``."""
    t0 = time.perf_counter()
    values = np.empty((width_nm.size, thickness_nm.size, wavelength_nm.size, 3))
    n = width_nm.size
    args = (width_nm, [thickness_nm] * n, [wavelength_nm] * n)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        rows = pool.map(_solve_row, *args) if jobs > 1 else map(_solve_row, *args)
        for i, row in enumerate(rows):
            values[i] = row
            print(f"width {width_nm[i]:7.1f} nm done ({i + 1}/{n}, {time.perf_counter() - t0:.0f} s)", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=out.parent)
    os.close(fd)
    try:
        np.savez(
            tmp,
            width_nm=width_nm,
            thickness_nm=thickness_nm,
            wavelength_nm=wavelength_nm,
            values=values,
            channels=np.array(waveguide.TABLE_CHANNELS),
            solver=np.array(
                "photonics.waveguide.solve_mode: full-vectorial Yee FD, quarter domain, "
                f"cells {waveguide._CELLS} and doubled, Richardson, margin {waveguide._MARGIN_NM} nm; "
                "Si Edwards/Palik Sellmeier, SiO2 Malitson 1965"
            ),
        )
        os.chmod(tmp, 0o644)  # mkstemp creates the file private
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"wrote {out} ({values.shape}) in {time.perf_counter() - t0:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz path")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs={args.jobs} is out of range; allowed: >= 1")
    build(args.out, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
