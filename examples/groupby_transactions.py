"""rdarray example: a transaction log summarized per customer and per (customer, day).

A generated card-transaction log (customer, day, category, amount) is aggregated pandas-style with
``x.groupby(...).agg(name=(field, func), ...)``. Each partition first reduces its rows to one row of
partial results per group (the map-side combine), so only those partials are shuffled, not the
log. The results are checked against pandas' groupby on the same data. ``--small`` runs it at a
tiny size.
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


def check(got, ref, keys):
    """Every field of rdarray's result equals pandas' (floats to rounding), in the same key order."""
    assert len(got) == len(ref), (len(got), len(ref))
    for name in got.dtype.names:
        want = ref[name].to_numpy()
        if got.dtype[name].kind == "f":
            assert np.allclose(got[name], want, rtol=1e-10, atol=0), name
        else:
            assert np.array_equal(got[name], want.astype(got.dtype[name])), name
    assert np.all(np.diff(got[keys[0]]) >= 0), "not sorted by key"


def main(rows: int, customers: int, days: int, npartitions=None) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    log = np.empty(rows, dtype=[("customer", "i8"), ("day", "M8[D]"), ("category", "i1"), ("amount", "f8")])
    busy = (rng.exponential(customers / 10, rows) % customers).astype(np.int64)  # some buy far more often
    log["customer"] = rng.permutation(customers)[busy]
    log["day"] = np.datetime64("2024-01-01") + rng.integers(0, days, rows)
    log["category"] = rng.integers(0, 12, rows)
    log["amount"] = np.round(rng.lognormal(3.0, 1.0, rows), 2)            # mostly small, a long tail
    x = rd.from_numpy(log, npartitions=npartitions)
    print(f"data: {rows:,} transactions in {x.npartitions} partitions ({log.nbytes / 1e6:.0f} MB)\n")

    per_customer = x.groupby("customer").agg(
        total=("amount", "sum"), mean=("amount", "mean"), n=("amount", "count"), largest=("amount", "max"),
        first_day=("day", "min"), last_day=("day", "max"))
    per_day = x.groupby(["customer", "day"]).agg(
        total=("amount", "sum"), n=("amount", "count"), largest=("amount", "max"),
        categories=("category", "nunique"))

    print("rdarray:")
    a = timed("per customer (6 aggregates)", per_customer.compute)
    b = timed("per customer and day (4 aggregates)", per_day.compute)

    try:
        import pandas as pd
    except ImportError:
        raise SystemExit("this example checks its results with pandas: pip install pandas") from None
    print("pandas:")
    df = timed("DataFrame from the same array", lambda: pd.DataFrame(log))
    ref_a = timed("per customer", lambda: df.groupby("customer").agg(
        total=("amount", "sum"), mean=("amount", "mean"), n=("amount", "count"), largest=("amount", "max"),
        first_day=("day", "min"), last_day=("day", "max")).reset_index())
    ref_b = timed("per customer and day", lambda: df.groupby(["customer", "day"]).agg(
        total=("amount", "sum"), n=("amount", "count"), largest=("amount", "max"),
        categories=("category", "nunique")).reset_index())

    print(f"\n{len(a):,} customers; the five biggest spenders:")
    for r in np.sort(a, order="total")[::-1][:5]:
        print(f"  customer {r['customer']:>6}: {r['n']:>9,} purchases, total {r['total']:>14,.2f}, "
              f"mean {r['mean']:7.2f}, largest {r['largest']:9.2f}, {r['first_day']} .. {r['last_day']}")
    print(f"\n{len(b):,} (customer, day) pairs; the first five:")
    for r in b[:5]:
        print(f"  customer {r['customer']:>6} on {r['day']}: {r['n']:>6,} purchases, total {r['total']:>12,.2f}, "
              f"largest {r['largest']:9.2f}, {r['categories']} categories")

    check(a, ref_a, ["customer"])
    check(b, ref_b, ["customer", "day"])
    print("\nall results agree with pandas")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    args = parser.parse_args()
    # small: still several partitions, so that partial results are merged across them
    main(*((20_000, 500, 30, 4) if args.small else (25_000_000, 200_000, 90)))
