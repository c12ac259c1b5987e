"""Benchmark definitions and the performance benchmarks (`python -m benchmarks.perf`)."""
