"""Studies layer: Monte Carlo throughput in-process vs on a local Dask cluster, and figure drawing.

Prints chips per second of ``studies.montecarlo.run`` (robin-eo, mnist-cnn, 2,000 MNIST test
images) in this process and on a ``LocalCluster`` of 2 single-threaded worker processes, their
ratio and whether the tables are identical; then the time to draw the figures of a small run.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

CHIPS = 6
IMAGES = 2000


def main() -> None:
    import distributed
    import pandas.testing

    from mapping.bnn import export_binary
    from studies import figures, montecarlo
    from studies.inputs import load_accelerators, load_dataset, load_model
    from studies.commands import main_run

    folded = export_binary(load_model("mnist-cnn"))
    accs = load_accelerators("robin-eo")
    data = load_dataset(None, IMAGES)
    montecarlo.run(folded, accs, (data[0][:8], data[1][:8]), chips=1)  # warm caches (Numba, workload)

    t0 = time.perf_counter()
    local = montecarlo.run(folded, accs, data, chips=CHIPS, seed=1)
    t_local = time.perf_counter() - t0
    print(f"in-process: {CHIPS} chips x {IMAGES} images in {t_local:.1f} s = {CHIPS / t_local:.3f} chips/s")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        montecarlo.run(folded, accs, (data[0][:8], data[1][:8]), chips=2, scheduler=client)  # warm the workers
        t0 = time.perf_counter()
        remote = montecarlo.run(folded, accs, data, chips=CHIPS, seed=1, scheduler=client)
        t_dask = time.perf_counter() - t0
    print(f"Dask LocalCluster (2 processes x 1 thread): {t_dask:.1f} s = {CHIPS / t_dask:.3f} chips/s; "
          f"speed ratio Dask/in-process = {t_local / t_dask:.2f} (in-process torch already uses every core; "
          "Dask pays off on a cluster)")
    pandas.testing.assert_frame_equal(remote, local, check_exact=True)
    print("tables identical: yes")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        main_run(out=out, presets=["robin-eo"], model="mnist-cnn", chips=2, seed=0, images=200, scheduler=None,
                 resume=False, progress=False, echo=False, levels=[0.0, 8.0], figures=False)
        t0 = time.perf_counter()
        paths = figures.draw(out)
        t_fig = time.perf_counter() - t0
    print(f"figures of a run: {len(paths) // 2} figures (PNG + PDF) in {t_fig:.1f} s")
