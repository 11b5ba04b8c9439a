"""BNNs on the accelerator, in three parts:

* ``mapping.networks``: the networks - binary layers (``layers``), BatchNorm+sign folding and
  export (``folding``), named trainable architectures (``architectures``), checkpoints
  (``checkpoints``, shipped ones in ``networks/pretrained/``), MNIST and user data (``data``)
  and training (``training``);
* ``mapping.performance``: the performance mapper - workload extraction from a traced model
  or a CSV/YAML layer table (``workload``, :func:`from_table`), the weight-stationary scheduler
  (``schedule``, :func:`map_model`) and the
  untrained shape zoo of standard networks (``shape_zoo``);
* ``mapping.functional``: the hardware-faithful functional simulator (accuracy chip by chip),
  with its per-layer kernels (``layer``), network runner (``network``) and receiver-noise
  readouts (``readout_noise``).

``mapping.bnn`` gathers the BNN toolkit (layers, folding, checkpoint I/O) in one namespace.
``map_model``, ``MappingReport``, ``from_table``, ``Workload`` and the Hybrid-Net layer selection
(``pca_component_counts``, ``select_layers``, from :mod:`mapping.networks.hybridnet`) load on
first access so that ``import mapping`` stays cheap.
"""
import importlib

__all__ = ["bnn", "functional", "networks", "performance", "map_model", "MappingReport", "from_table", "Workload",
           "pca_component_counts", "select_layers"]


def __getattr__(name):
    if name in ("map_model", "MappingReport"):
        return getattr(importlib.import_module("mapping.performance.schedule"), name)
    if name in ("from_table", "Workload"):
        return getattr(importlib.import_module("mapping.performance.workload"), name)
    if name in ("pca_component_counts", "select_layers"):
        return getattr(importlib.import_module("mapping.networks.hybridnet"), name)
    raise AttributeError(f"module 'mapping' has no attribute {name!r}")
