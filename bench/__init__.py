"""Benchmarks and their helpers (bench/load.py); tests import bench._servers to start gunicorn."""
