"""The user-facing layer: the ``robinsim`` command line, the main report, Monte Carlo studies,
design-space sweeps (in-process or on Dask) and figures.

Submodules: ``montecarlo`` (accuracy and tuning power over sampled chips), ``sweep``
(configuration grids, Pareto fronts), ``plots`` (figures), ``report`` (``robinsim run``),
``figures`` (figures of saved results), ``dispatch`` (in-process/Dask task runner),
``checkpoint`` (resumable runs), ``outputs`` (atomic files, tidy CSV), ``cli``.
"""
