"""Timing and memory measurement shared by every workload."""

from __future__ import annotations

import ctypes
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Case:
    """One workload: the implementations to time (rdarray and its peers) and how to compare results."""

    workload: str
    title: str
    impls: dict[str, Callable[[], object]]
    agree: Callable[[object, object], bool]
    unit_bytes: int = 0  # bytes processed, for a throughput column
    per_task: int = 0  # tasks run, for a time-per-task column
    read_bytes: int = 0  # bytes of the input fields the case reads, for a peak RSS / read column (the
    # allocator's free memory is then trimmed before the measured run)


def median_seconds(fn: Callable[[], object], repeat: int, trim: bool = False) -> tuple[float, object, int | None]:
    """Median wall time of ``repeat`` runs after one warm-up run, the last result, and how far the
    last run raised this process's resident memory above where it started (None off Linux).
    ``trim``: hand the allocator's free memory back to the system before the last run, so that
    memory the earlier runs freed but the allocator kept does not hide the last run's peak."""
    result = fn()
    times, peak = [], None
    for i in range(max(1, repeat)):
        last = i == max(1, repeat) - 1
        if last:
            result = None  # the previous result must not count against this run's peak
            if trim:
                _malloc_trim()
            before = _reset_peak_rss()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if last and before is not None:
            peak = max(0, _status_bytes("VmHWM") - before)
    return statistics.median(times), result, peak


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _malloc_trim() -> None:
    """glibc's ``malloc_trim(0)``: free pages of every arena go back to the system (not glibc: nothing)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> int | None:
    """Reset the kernel's record of this process's peak resident set size; returns the resident
    size now, or None where that cannot be done (not Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_bytes("VmRSS")
    except OSError:
        return None


def run_case(case: Case, repeat: int) -> list[dict]:
    """Time every implementation; check each peer's answer agrees with rdarray's."""
    rows, reference = [], None
    for impl, fn in case.impls.items():
        seconds, result, peak_rss = median_seconds(fn, repeat, trim=bool(case.read_bytes))
        if impl == "rdarray":
            reference = result
        agrees = True if reference is None or impl == "rdarray" else bool(case.agree(reference, result))
        row = {"workload": case.workload, "case": case.title, "impl": impl, "seconds": seconds,
               "agrees": agrees, "peak_rss_bytes": peak_rss}
        if case.unit_bytes:
            row["gbps"] = case.unit_bytes / seconds / 1e9
        if case.per_task:
            row["us_per_task"] = seconds / case.per_task * 1e6
        if case.read_bytes:
            row["read_bytes"] = case.read_bytes
            row["peak_per_read"] = None if peak_rss is None else peak_rss / case.read_bytes
        rows.append(row)
    return rows
