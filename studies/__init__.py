"""The user-facing layer: the ``robinsim`` command line, the main report, Monte Carlo studies,
design-space sweeps (in-process or on Dask) and figures.

Submodules: ``cli`` (argument parsing), ``commands`` (``run``, ``mc``, ``sweep``, ``sensitivity``,
``map``), ``report`` (what ``run`` computes per preset, and report text), ``montecarlo`` (accuracy and tuning power
over sampled chips), ``sweep`` (configuration grids), ``pareto`` (Pareto fronts), ``plots``
(figures from tables), ``figures`` (the figures of a saved study), ``dispatch`` (in-process/Dask
task runner), ``resume`` (checkpointed, resumable runs), ``inputs`` (models, data, presets by
name), ``outputs`` (atomic files, tidy CSV).
"""
