"""BNNs on the accelerator: binary layers, training, checkpoints, data, workload extraction,
scheduling (``map_model``) and the hardware-faithful functional simulator.

Submodules: ``bnn`` (binary layers, folding, export), ``bnn_models`` (named BNN architectures),
``checkpoint`` (save/load, shipped checkpoints), ``data``, ``train``, ``models`` (shape zoo),
``workload``, ``schedule``, ``functional``.
"""


def __getattr__(name):
    # Lazy so that ``import mapping`` stays cheap and submodules can import each other freely.
    if name in ("map_model", "MappingReport"):
        from mapping import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module 'mapping' has no attribute {name!r}")
