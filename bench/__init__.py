"""Benchmarks for the issue's "Done when" figures; see bench/README.md. Not collected by pytest."""
