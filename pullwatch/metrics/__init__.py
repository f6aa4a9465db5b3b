"""Prometheus metrics for pullwatch: a collector that reads the store at each scrape
(collector.py) and the `pullwatch metrics` loop that feeds the store and serves them (serve.py).
The store knows nothing of Prometheus; this package only reads it."""
