"""The performance mapper: per-layer workload of a traced model or a layer table
(``workload``: ``extract_workload``, ``from_table``), the
weight-stationary scheduler with latency and energy (``schedule``, ``map_model``) and the
untrained shape zoo of standard networks for performance studies (``shape_zoo``)."""
