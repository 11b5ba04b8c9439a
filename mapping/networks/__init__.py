"""The networks: binary layers (``layers``), BatchNorm+sign folding and export (``folding``),
named trainable BNN architectures (``architectures``), Hybrid-Net layer selection
(``hybridnet``), edge-cloud hybrid networks with early exits (``hybrid``), checkpoints
(``checkpoints``; the shipped ones live in ``pretrained/``), MNIST and dataset checks (``data``)
and training (``training``)."""
