"""The benchmarks bench/run runs: one module per figure, the helpers they share."""
