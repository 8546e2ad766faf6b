"""rdarray quickstart: a small sensor-data pipeline on the default threads backend.

Generates readings from a fleet of sensors, cleans them, and summarizes them in parallel; every
answer is checked against NumPy on the same data. ``--small`` runs it at a tiny size.
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


def main(rows: int) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    readings = np.empty(rows, dtype=[("sensor", "i4"), ("temp", "f8"), ("ok", "?")])
    readings["sensor"] = rng.integers(0, 100, rows)
    readings["temp"] = rng.normal(20.0, 5.0, rows)
    readings["ok"] = rng.random(rows) > 0.01
    x = rd.from_numpy(readings)
    print(f"data: {rows:,} rows in {x.npartitions} partitions ({readings.nbytes / 1e6:.0f} MB)\n")

    temp = x["temp"]
    kelvin = temp + 273.15
    good = kelvin[x["ok"] & (np.abs(temp - 20.0) < 15.0)]   # drop failed and implausible readings
    stats = good.moments()
    hist = good.histogram(bins=8, range=(270.0, 316.0))
    hottest = kelvin.argmax()

    print("computing (one plan, one pass over the data):")
    s, (counts, edges), hot = timed("moments + histogram + argmax", lambda: rd.compute(stats, hist, hottest))

    print("\nthe same with NumPy:")
    t = readings["temp"]
    k = t + 273.15
    mask = readings["ok"] & (np.abs(t - 20.0) < 15.0)
    ref = timed("mean, var, histogram, argmax", lambda: (
        k[mask].mean(), k[mask].var(), np.histogram(k[mask], bins=8, range=(270.0, 316.0))[0], k.argmax()))

    print(f"\nkept {s['count']:,} of {rows:,} readings")
    print(f"mean {s['mean']:.4f} K, std {np.sqrt(s['var']):.4f} K, skew {s['skew']:+.4f}, "
          f"excess kurtosis {s['kurtosis']:+.4f}")
    print(f"hottest reading at row {hot} (sensor {x[int(hot)]['sensor']})")
    for lo, hi, n in zip(edges[:-1], edges[1:], counts):
        print(f"  {lo:6.1f}-{hi:6.1f} K {'#' * int(50 * n / counts.max()):<50} {n:,}")

    assert np.isclose(s["mean"], ref[0], rtol=1e-12) and np.isclose(s["var"], ref[1], rtol=1e-9)
    assert np.array_equal(counts, ref[2]) and hot == ref[3]
    print("\nall results agree with NumPy")
    print("\nthe plan:\n" + good.explain())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    args = parser.parse_args()
    main(20_000 if args.small else 20_000_000)
