"""Benchmarks that print figures: ``python -m benchmarks [NAME...]``."""
