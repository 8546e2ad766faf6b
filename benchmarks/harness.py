"""Timing and memory measurement shared by every workload."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable


@dataclass
class Case:
    """One workload: the implementations to time (rdarray and its peers) and how to compare results."""

    workload: str
    title: str
    impls: dict[str, Callable[[], object]]
    agree: Callable[[object, object], bool]
    unit_bytes: int = 0  # bytes processed, for a throughput column
    per_task: int = 0  # tasks run, for a time-per-task column


def median_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs after one warm-up run, and the last result."""
    result = fn()
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated during one run (NumPy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_case(case: Case, repeat: int, memory: bool) -> list[dict]:
    """Time every implementation; check each peer's answer agrees with rdarray's."""
    rows, reference = [], None
    for impl, fn in case.impls.items():
        seconds, result = median_seconds(fn, repeat)
        if impl == "rdarray":
            reference = result
        agrees = True if reference is None or impl == "rdarray" else bool(case.agree(reference, result))
        row = {"workload": case.workload, "case": case.title, "impl": impl, "seconds": seconds,
               "agrees": agrees}
        if case.unit_bytes:
            row["gbps"] = case.unit_bytes / seconds / 1e9
        if case.per_task:
            row["us_per_task"] = seconds / case.per_task * 1e6
        if memory:
            row["peak_bytes"] = peak_bytes(fn)
        rows.append(row)
    return rows
