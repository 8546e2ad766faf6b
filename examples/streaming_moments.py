"""rdarray example: mean, variance, skewness and kurtosis of a large array in one pass.

``x.moments()`` reads the data once: every partition is reduced to its count, mean and centered
sums of powers, and those partials are merged pairwise (Chan's formulas), which is as stable as
the textbook two-pass method. The data here are meter readings: a large baseline plus a skewed
(log-normal) excess, far from zero, where the one-pass shortcut ``E[x^2] - E[x]^2`` loses many
digits. NumPy computes the same figures in two passes (the mean, then the centered powers) and
the two sets are compared. ``--small`` runs it at a tiny size.
"""

import argparse
import time

import numpy as np

import rdarray as rd


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def two_pass(a):
    """NumPy: the mean, then the centered second, third and fourth powers."""
    mean = a.mean()
    d = a - mean
    d2 = d * d
    m2, m3, m4 = d2.mean(), (d2 * d).mean(), (d2 * d2).mean()
    return {"count": a.size, "mean": mean, "var": m2, "skew": m3 / m2**1.5, "kurtosis": m4 / m2**2 - 3}


def main(n: int) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    readings = 1e6 + rng.lognormal(mean=3.0, sigma=0.6, size=n)   # a baseline plus a long right tail
    x = rd.from_numpy(readings)
    print(f"data: {n:,} float64 in {x.npartitions} partitions ({readings.nbytes / 1e6:.0f} MB)\n")

    print("rdarray, x.moments() (one pass: the data are read once):")
    got = timed("count, mean, var, skew, kurtosis", lambda: x.moments().compute())
    print("NumPy, two passes (mean, then centered powers):")
    ref = timed("count, mean, var, skew, kurtosis", lambda: two_pass(readings))
    print("NumPy, one pass with the shortcut E[x^2] - E[x]^2 (for contrast):")
    naive = timed("var", lambda: (readings * readings).mean() - readings.mean() ** 2)

    print(f"\n  {'':<10} {'rdarray':>22} {'NumPy two-pass':>22} {'rel. difference':>16}")
    for name in ("mean", "var", "skew", "kurtosis"):
        rel = abs(got[name] - ref[name]) / abs(ref[name])
        print(f"  {name:<10} {got[name]:22.15g} {ref[name]:22.15g} {rel:16.2e}")
    print(f"  {'count':<10} {got['count']:22,} {ref['count']:22,}")
    print(f"\n  shortcut var {naive:.15g} (rel. difference {abs(naive - ref['var']) / ref['var']:.2e})")

    assert got["count"] == ref["count"]
    assert np.isclose(got["mean"], ref["mean"], rtol=1e-12, atol=0)
    assert np.isclose(got["var"], ref["var"], rtol=1e-9, atol=0)
    assert np.isclose(got["skew"], ref["skew"], rtol=1e-8, atol=0)
    assert np.isclose(got["kurtosis"], ref["kurtosis"], rtol=1e-8, atol=0)
    print("\nall moments agree with NumPy's two-pass figures")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    args = parser.parse_args()
    main(100_000 if args.small else 100_000_000)
