"""rdarray example: trades aligned with the quote in force when each happened, then summarized.

Two generated market-data logs sorted by time, trades (time, symbol, side, price, size) and quotes
(time, symbol, bid, ask), are joined with ``rd.merge_asof(trades, quotes, on="time", by="symbol")``:
each trade gets the last quote of its symbol at or before it. The join runs partition by partition
in parallel and is exact across partition boundaries. From the joined rows come, per symbol, the
number of trades, the volume, the VWAP and the effective spread paid (in basis points of the mid).
Everything is checked against ``pandas.merge_asof`` and pandas' groupby on the same data.
``--small`` runs it at a tiny size.
"""

import argparse
import time

import numpy as np

import rdarray as rd

DAY_NS = 23_400 * 10**9  # a 6.5-hour trading session, in nanoseconds
SUMMARY = dict(trades=("size", "size"), volume=("size", "sum"), notional=("notional", "sum"),
               quoted=("spread_bps", "count"), spread_bps=("spread_bps", "mean"), worst_bps=("spread_bps", "max"))


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def market(rng, n_trades: int, n_quotes: int, n_symbols: int):
    """Quotes around a slowly moving mid price per symbol; trades at the mid plus or minus a cost."""
    popularity = rng.pareto(1.0, n_symbols) + 1
    base, phase = rng.uniform(10, 500, n_symbols), rng.uniform(0, 2 * np.pi, n_symbols)
    start = np.datetime64("2024-03-01T14:30", "ns")

    def draw(n, fields):
        rows = np.empty(n, [("time", "M8[ns]"), ("symbol", "i2")] + fields)
        offset = np.sort(rng.integers(0, DAY_NS, n))
        rows["time"] = start + offset.astype("m8[ns]")
        rows["symbol"] = rng.choice(n_symbols, n, p=popularity / popularity.sum())
        mid = base[rows["symbol"]] * (1 + 0.02 * np.sin(2 * np.pi * offset / DAY_NS + phase[rows["symbol"]]))
        return rows, mid, base[rows["symbol"]]

    quotes, mid, scale = draw(n_quotes, [("bid", "f8"), ("ask", "f8")])
    half = scale * rng.uniform(0.5e-4, 3e-4, n_quotes)
    quotes["bid"], quotes["ask"] = np.round(mid - half, 4), np.round(mid + half, 4)
    trades, mid, scale = draw(n_trades, [("side", "i1"), ("price", "f8"), ("size", "i4")])
    trades["side"] = rng.choice([-1, 1], n_trades)
    trades["price"] = np.round(mid + trades["side"] * scale * rng.uniform(0, 4e-4, n_trades), 4)
    trades["size"] = 100 * rng.integers(1, 20, n_trades)
    return trades, quotes


def measures(rows):
    """The joined rows with the notional and the effective spread paid (NaN without a quote)
    added: the same expression on an rdarray table and on a pandas DataFrame."""
    mid = (rows["bid"] + rows["ask"]) / 2
    return rows.assign(notional=rows["price"] * rows["size"],
                       spread_bps=2e4 * rows["side"] * (rows["price"] - mid) / mid)


def main(n_trades: int, n_quotes: int, n_symbols: int, npartitions=None) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")
    trades, quotes = market(np.random.default_rng(0), n_trades, n_quotes, n_symbols)
    t, q = rd.from_numpy(trades, npartitions=npartitions), rd.from_numpy(quotes, npartitions=npartitions)
    print(f"data: {n_trades:,} trades in {t.npartitions} partitions, {n_quotes:,} quotes in {q.npartitions} "
          f"partitions, {n_symbols} symbols ({(trades.nbytes + quotes.nbytes) / 1e6:.0f} MB)\n")

    joined = rd.merge_asof(t, q, on="time", by="symbol")
    per_symbol = measures(joined).groupby("symbol").agg(**SUMMARY)
    print("rdarray (one plan):")
    got_joined, got = timed("merge_asof + per-symbol summary", lambda: rd.compute(joined, per_symbol))

    try:
        import pandas as pd
    except ImportError:
        raise SystemExit("this example checks its results with pandas: pip install pandas") from None
    print("pandas:")
    ref_joined = timed("merge_asof", lambda: pd.merge_asof(pd.DataFrame(trades), pd.DataFrame(quotes),
                                                           on="time", by="symbol"))
    ref = timed("per-symbol summary", lambda: measures(ref_joined).groupby("symbol").agg(**SUMMARY).reset_index())

    print(f"\n{np.isnan(got_joined['bid']).sum():,} trades came before any quote of their symbol; "
          "the five most traded symbols:")
    print(f"  {'symbol':>6} {'trades':>9} {'volume':>13} {'VWAP':>9} {'spread paid':>12} {'worst':>8}")
    for r in np.sort(got, order="trades")[::-1][:5]:
        print(f"  {r['symbol']:>6} {r['trades']:>9,} {r['volume']:>13,} {r['notional'] / r['volume']:9.3f} "
              f"{r['spread_bps']:9.2f} bp {r['worst_bps']:5.2f} bp")

    for name in ("time", "symbol", "side", "price", "size", "bid", "ask"):
        assert np.array_equal(got_joined[name], ref_joined[name].to_numpy(), equal_nan=name in ("bid", "ask")), name
    assert np.array_equal(got["symbol"], ref["symbol"].to_numpy())
    for name in ("trades", "volume", "quoted"):
        assert np.array_equal(got[name], ref[name].to_numpy()), name
    for name in ("notional", "spread_bps", "worst_bps"):
        assert np.allclose(got[name], ref[name].to_numpy(), rtol=1e-10, atol=0, equal_nan=True), name
    print("\nthe join and the summary agree with pandas")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    args = parser.parse_args()
    # small: still several partitions, so that matches across partition boundaries are exercised
    main(*((5_000, 20_000, 8, 4) if args.small else (5_000_000, 20_000_000, 200)))
