"""Helpers the benchmark scripts share for printing their figures."""

from __future__ import annotations

import resource

__all__ = ["peak_rss_mb", "ratio"]


def peak_rss_mb() -> float:
    """This process's peak resident memory; ru_maxrss is in KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio(value: float, limit: float) -> str:
    return f"{value / limit:.3f}"
