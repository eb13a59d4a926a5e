"""Timing helpers: medians of repeated calls, the two sides taken in alternation."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def alternate(
    fns: dict[str, Callable[[], Any]], calls: int, blocks: int = 4, warmup: int = 1
) -> dict[str, list[float]]:
    """`calls` timed calls of each function (ms), in `blocks` alternating blocks; the
    order of the sides flips every block, and `warmup` untimed calls go first."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    got: dict[str, list[float]] = {k: [] for k in fns}
    per_block = max(1, calls // blocks)
    names = list(fns)
    for b in range(blocks):
        for k in names if b % 2 == 0 else reversed(names):
            got[k] += [ms(fns[k]) for _ in range(per_block)]
    return got


def ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(a) / statistics.median(b)
