"""The workloads of BENCHMARKS.md that the current backends cover, each with its peers."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import tempfile
from collections.abc import Iterator

import numpy as np

import rdarray as rd

from .files import w14
from .harness import Case


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=0)


def _dask_array():
    try:
        import dask
        import dask.array as da
    except ImportError:
        return None
    dask.config.set(scheduler="threads")
    return da


def _peer(module: str):
    """The peer's module, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def w1(scale: float) -> list[Case]:
    """Map-reduce: ``(sqrt(x) * 2 + 1).sum()`` over 50M float64."""
    a = np.random.default_rng(0).random(max(1000, int(50e6 * scale)))
    x = rd.from_numpy(a)
    impls = {
        "rdarray": lambda: (np.sqrt(x) * 2 + 1).sum().compute(),
        "numpy": lambda: (np.sqrt(a) * 2 + 1).sum(),
    }
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=max(1, len(a) // x.npartitions))
        impls["dask.array"] = lambda: (da.sqrt(d) * 2 + 1).sum().compute()
    return [Case("W1", f"(sqrt(x)*2+1).sum(), {len(a):,} float64", impls, _close, a.nbytes)]


def w2(scale: float) -> list[Case]:
    """Moments: mean and var along axis 0 of (10M, 4) float64, one pass."""
    a = np.random.default_rng(0).normal(5.0, 2.0, size=(max(100, int(10e6 * scale)), 4))
    x = rd.from_numpy(a)
    impls = {
        "rdarray": lambda: rd.compute(x.mean(axis=0), x.var(axis=0)),
        "numpy": lambda: (a.mean(axis=0), a.var(axis=0)),
    }
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=(max(1, len(a) // x.npartitions), 4))
        impls["dask.array"] = lambda: da.compute(d.mean(axis=0), d.var(axis=0))

    def agree(r, p):
        return _close(r[0], p[0]) and _close(r[1], p[1])

    return [Case("W2", f"mean and var along axis 0, {a.shape} float64", impls, agree, a.nbytes)]


def w10(scale: float) -> list[Case]:
    """Scheduling overhead: ``(x + 1).sum()`` over 10,000 partitions of 100 rows."""
    nparts = max(10, int(10_000 * min(scale * 10, 1.0)))
    a = np.random.default_rng(0).random(nparts * 100)
    x = rd.from_numpy(a, npartitions=nparts)
    impls = {"rdarray": lambda: (x + 1).sum().compute(), "numpy": lambda: (a + 1).sum()}
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=100)
        impls["dask.array"] = lambda: (d + 1).sum().compute()
    return [Case("W10", f"(x+1).sum() over {nparts:,} partitions of 100 rows", impls, _close,
                 per_task=nparts)]


def w8_frames(scale: float) -> list[Case]:
    """Partition frames: 100 MB float64 random walk in 8 partitions, encoded and decoded in
    parallel by the executor (LZ4, shuffle), against the blosc2 package on its own threads."""
    from rdarray.storage import frame

    a = np.cumsum(np.random.default_rng(0).normal(size=max(1000, int(12.5e6 * scale))))
    parts = np.array_split(a, 8)
    run = rd.get_context().executor.run_tasks
    frames = run(lambda p: frame.encode(parts[p]), len(parts))
    encode = {"rdarray": lambda: run(lambda p: frame.encode(parts[p]), len(parts))}
    decode = {"rdarray": lambda: np.concatenate(run(lambda p: frame.decode(frames[p]), len(parts)))}
    try:
        import blosc2
    except ImportError:
        blosc2 = None
    if blosc2 is not None:
        blosc2.set_nthreads(rd.get_context().workers)
        params = blosc2.CParams(codec=blosc2.Codec.LZ4, clevel=5, typesize=8,
                                filters=[0, 0, 0, 0, 0, blosc2.Filter.SHUFFLE], filters_meta=[0] * 6)
        chunks = [blosc2.compress2(p, cparams=params) for p in parts]
        encode["blosc2"] = lambda: [blosc2.compress2(p, cparams=params) for p in parts]
        decode["blosc2"] = lambda: np.concatenate([np.frombuffer(blosc2.decompress2(c), dtype=a.dtype) for c in chunks])

    def same_size(r, p):
        return abs(sum(x.nbytes for x in r) - sum(len(x) for x in p)) < 0.2 * a.nbytes

    return [Case("W8", "frame encode, float64 walk in 8 partitions", encode, same_size, a.nbytes),
            Case("W8", "frame decode, float64 walk in 8 partitions", decode, np.array_equal, a.nbytes)]


def spill(scale: float) -> list[Case]:
    """Persisted working set twice the memory limit: spilled and read back vs kept in memory."""
    a = np.random.default_rng(0).random(max(1000, int(25e6 * scale)))

    def run(limit):
        with rd.Context(memory_limit=limit):
            y = rd.from_numpy(a).map_partitions(lambda b: b * 2).persist()
            return y.sum().compute(), (y + 1).sum().compute()

    impls = {"rdarray": lambda: run(a.nbytes // 2), "rdarray in memory": lambda: run(None)}
    return [Case("SPILL", f"persist {a.nbytes / 1e6:.0f} MB with a limit of half, two passes", impls,
                 lambda r, p: _close(r[0], p[0]) and _close(r[1], p[1]), a.nbytes)]


def _hashed_rows(n: int) -> np.ndarray:
    """``n`` rows of (int64 key uniform below 2**40, float64 value): 16 bytes a row to shuffle."""
    rng = np.random.default_rng(0)
    rows = np.empty(n, dtype=[("key", "i8"), ("value", "f8")])
    rows["key"] = rng.integers(0, 1 << 40, n)
    rows["value"] = rng.random(n)
    return rows


def w7(scale: float) -> list[Case]:
    """Hash partitioning (shuffle write): 20M (int64 key, float64 value) rows into 16 partitions."""
    from rdarray.shuffle.exchange import buckets
    from rdarray.shuffle.partitioners import HashPartitioner

    rows = _hashed_rows(max(1000, int(20e6 * scale)))
    n = len(rows)
    parts = np.array_split(rows, 2 * rd.get_context().workers)
    part = HashPartitioner(16, "key")
    run = rd.get_context().executor.run_tasks

    def ours():
        return run(lambda p: buckets(parts[p], part.assign(p, parts[p]), 16), len(parts))

    def baseline():  # the same grouping by a stable argsort of the targets, one thread
        targets = part.assign(0, rows)
        return rows[np.argsort(targets, kind="stable")]

    def agree(r, p):
        return sum(len(b) for bs in r for b in bs) == len(p)

    return [Case("W7", f"hash-partition {n:,} (int64, float64) rows into 16",
                 {"rdarray": ours, "numpy argsort": baseline},
                 agree, rows.nbytes)]


def w9(scale: float) -> list[Case]:
    """Sort 20M float64."""
    a = np.random.default_rng(0).random(max(1000, int(20e6 * scale)))
    x = rd.from_numpy(a)
    impls = {"rdarray": lambda: x.sort().compute(), "numpy": lambda: np.sort(a)}
    try:
        import polars as pl
        s = pl.Series(a)
        impls["polars"] = lambda: s.sort().to_numpy()
    except ImportError:
        pass
    return [Case("W9", f"sort {len(a):,} float64", impls, np.array_equal, a.nbytes)]


def nlargest(scale: float) -> list[Case]:
    """``nlargest(20)`` of 20M float64 (a top-n per partition and one merge) against a full sort,
    whose time it should stay under a fifth of."""
    a = np.random.default_rng(1).random(max(1000, int(20e6 * scale)))
    x = rd.from_numpy(a)
    impls = {"rdarray": lambda: x.nlargest(20).compute(), "numpy sort": lambda: np.sort(a)[::-1][:20],
             "rdarray sort": lambda: x.sort(descending=True).head(20)}
    pd = _peer("pandas")
    if pd is not None:
        s = pd.Series(a)
        impls["pandas"] = lambda: s.nlargest(20).to_numpy()
    return [Case("NLARGEST", f"nlargest(20) of {len(a):,} float64 (target: at most 0.2 of a sort)", impls,
                 np.array_equal, a.nbytes)]


def quantile(scale: float) -> list[Case]:
    """``np.quantile(x, q)`` of 20M float64 by selection (no sort) against NumPy's, whose time it
    should not pass."""
    a = np.random.default_rng(2).normal(size=max(1000, int(20e6 * scale)))
    x = rd.from_numpy(a)
    q = [0.01, 0.25, 0.5, 0.75, 0.99]
    impls = {"rdarray": lambda: np.quantile(x, q).compute(), "numpy": lambda: np.quantile(a, q)}
    return [Case("QUANTILE", f"np.quantile(x, 5 q) of {len(a):,} float64 (target: at most 1.0 of NumPy's)", impls,
                 np.array_equal, a.nbytes)]


def gram(scale: float) -> list[Case]:
    """``x.T @ x`` of 20M × 16 float64 (a BLAS product per partition, summed in a tree) against
    NumPy's, whose time it should stay under 0.6 of."""
    a = np.random.default_rng(3).normal(size=(max(1000, int(20e6 * scale)), 16))
    x = rd.from_numpy(a)
    impls = {"rdarray": lambda: (x.T @ x).compute(), "numpy": lambda: a.T @ a}
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=(max(1, len(a) // x.npartitions), 16))
        impls["dask.array"] = lambda: (d.T @ d).compute()
    return [Case("GRAM", f"x.T @ x of {len(a):,} × 16 float64 (target: at most 0.6 of NumPy's)", impls,
                 lambda r, p: np.allclose(np.asarray(r), np.asarray(p), rtol=1e-9, atol=1e-6), a.nbytes)]


def _same_r(r, p) -> bool:
    """Two QR factorizations' R factors agree up to the signs of their rows."""
    ours, theirs = np.asarray(r[1]), np.asarray(p[1])
    return bool(np.allclose(np.abs(ours), np.abs(theirs), rtol=1e-8, atol=1e-8 * np.abs(theirs).max()))


def tsqr(scale: float) -> list[Case]:
    """Tall-skinny QR of 10M × 32 float64 (Q and R) against ``np.linalg.qr``, whose time it should
    not pass."""
    a = np.random.default_rng(4).normal(size=(max(1000, int(10e6 * scale)), 32))
    x = rd.from_numpy(a)
    impls = {"rdarray": lambda: rd.compute(*rd.linalg.qr(x)), "numpy": lambda: np.linalg.qr(a),
             "rdarray R only": lambda: (None, rd.linalg.qr(x, mode="r").compute())}
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=(max(64, len(a) // x.npartitions), 32))
        impls["dask.array"] = lambda: da.compute(*da.linalg.qr(d))
    return [Case("TSQR", f"QR of {len(a):,} × 32 float64, Q and R (target: at most 1.0 of np.linalg.qr)", impls,
                 _same_r, a.nbytes)]


def cumsum(scale: float) -> list[Case]:
    """``np.cumsum`` of 50M float64 (partition totals, their exclusive scan, then a narrow pass)
    into one NumPy array, against NumPy's, whose time it should not pass."""
    a = np.random.default_rng(5).normal(size=max(1000, int(50e6 * scale)))
    x = rd.from_numpy(a)
    impls = {"rdarray": lambda: np.cumsum(x).compute(), "numpy": lambda: np.cumsum(a),
             "rdarray, its max": lambda: np.cumsum(x).max().compute()}
    da = _dask_array()
    if da is not None:
        d = da.from_array(a, chunks=max(1, len(a) // x.npartitions))
        impls["dask.array"] = lambda: da.cumsum(d).compute()

    def agree(r, p):
        r, p = np.asarray(r), np.asarray(p)
        if r.ndim == 0 or p.ndim == 0:  # the max alone
            return bool(np.isclose(r.max(), p.max(), rtol=1e-9, atol=1e-6))
        return bool(np.allclose(r, p, rtol=1e-9, atol=1e-6))

    return [Case("CUMSUM", f"np.cumsum of {len(a):,} float64 (target: at most 1.0 of NumPy's)", impls, agree,
                 a.nbytes)]


#: the aggregation of W3, W4 and W11: sum, mean and count of the value per key
_AGG = ["sum", "mean", "count"]


def _groupby_rows(n: int, ngroups: int) -> np.ndarray:
    """``n`` rows of (int64 key below ``ngroups``, standard normal float64 value)."""
    rng = np.random.default_rng(0)
    rows = np.empty(n, dtype=[("key", "i8"), ("value", "f8")])
    rows["key"], rows["value"] = rng.integers(0, ngroups, n), rng.standard_normal(n)
    return rows


def _groupby_title(n: int, ngroups: int) -> str:
    return f"groupby sum, mean, count: {n:,} rows, {ngroups:,} int64 keys"


def _groupby_columns(g) -> tuple:
    """(key, sum, mean, count) columns of a pandas groupby result."""
    return g.index.to_numpy(), g["sum"].to_numpy(), g["mean"].to_numpy(), g["count"].to_numpy()


def _groupby_agree(r, p) -> bool:
    """rdarray's key-sorted structured result against a peer's (key, sum, mean, count) columns,
    which come in the peer's own group order. atol: a sum near 0 of ~10 normals may differ by
    rounding between summation orders."""
    order = np.argsort(p[0])
    k, s, m, c = (np.asarray(col)[order] for col in p)
    return (np.array_equal(r["key"], k) and np.array_equal(r["value_count"], c)
            and np.allclose(r["value_sum"], s, rtol=1e-9, atol=1e-9)
            and np.allclose(r["value_mean"], m, rtol=1e-9, atol=1e-9))


def _groupby(workload: str, n: int, ngroups: int) -> list[Case]:
    """Sum, mean and count of a float64 value per int64 key, against each peer's columns."""
    rows = _groupby_rows(n, ngroups)
    key, value = np.ascontiguousarray(rows["key"]), np.ascontiguousarray(rows["value"])
    x = rd.from_numpy(rows)
    impls = {"rdarray": lambda: x.groupby("key").agg({"value": _AGG}).compute()}
    pd, pl, duckdb, dd = _peer("pandas"), _peer("polars"), _peer("duckdb"), _peer("dask.dataframe")

    if pd is not None:
        df = pd.DataFrame({"key": key, "value": value})
        impls["pandas"] = lambda: _groupby_columns(df.groupby("key").value.agg(_AGG))
    if pl is not None:
        pf, v = pl.DataFrame({"key": key, "value": value}), pl.col("value")
        impls["polars"] = lambda: [s.to_numpy() for s in pf.group_by("key").agg(
            v.sum().alias("sum"), v.mean().alias("mean"), v.count().alias("count")).get_columns()]
    if duckdb is not None and pd is not None:
        con = duckdb.connect()
        con.register("t", df)
        query = "SELECT key, sum(value), avg(value), count(value) FROM t GROUP BY key"
        impls["DuckDB"] = lambda: list(con.sql(query).fetchnumpy().values())
    if dd is not None and pd is not None:
        import dask

        dask.config.set(scheduler="threads")
        ddf = dd.from_pandas(df, npartitions=x.npartitions)
        impls["dask.dataframe"] = lambda: _groupby_columns(ddf.groupby("key").value.agg(_AGG).compute())

    return [Case(workload, _groupby_title(n, ngroups), impls, _groupby_agree, rows.nbytes)]


def w3(scale: float) -> list[Case]:
    """Groupby-agg: 20M rows, int64 key with 1,000 groups, float64 value: sum, mean, count."""
    return _groupby("W3", max(10_000, int(20e6 * scale)), 1000)


def w4(scale: float) -> list[Case]:
    """Groupby-agg as W3 with 2M groups (scaled, at most a tenth of the rows)."""
    n = max(10_000, int(20e6 * scale))
    return _groupby("W4", n, max(1, min(n // 10, int(2e6 * scale))))


def _join_columns(result) -> tuple:
    """(key, a, b) columns of a join result, sorted by (key, a): peers emit rows in orders of their own."""
    if isinstance(result, np.ndarray):
        key, a, b = result["key"], result["a"], result["b"]
    else:
        key, a, b = (np.asarray(c) for c in result)
    order = np.lexsort((a, key))
    return key[order], a[order], b[order]


def _join_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """W5's inputs: an ``n``-row left (key, a) and an ``n // 10``-row right (unique key, b); the
    left's keys are uniform over a key range a tenth wider than the right's keys, so ~91 % of left
    rows match."""
    m = n // 10
    rng = np.random.default_rng(0)
    span = m + m // 10
    rkey = rng.permutation(span)[:m].astype(np.int64)  # unique, in no particular order
    lkey, a, b = rng.integers(0, span, n), rng.random(n), rng.random(m)
    left = np.empty(n, dtype=[("key", "i8"), ("a", "f8")])
    left["key"], left["a"] = lkey, a
    right = np.empty(m, dtype=[("key", "i8"), ("b", "f8")])
    right["key"], right["b"] = rkey, b
    return left, right


def _join_title(left: np.ndarray, right: np.ndarray) -> str:
    return f"inner join {len(left):,} x {len(right):,} rows on a unique int64 key"


def _join_frame_columns(df) -> tuple:
    """(key, a, b) columns of a pandas join result."""
    return df["key"].to_numpy(), df["a"].to_numpy(), df["b"].to_numpy()


def _join_agree(r, p) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(_join_columns(r), _join_columns(p)))


def w5(scale: float) -> list[Case]:
    """Inner hash join: a 10M-row left (key, a) with a 1M-row right (unique key, b), ~91 % of left
    rows matching."""
    left, right = _join_tables(max(10_000, int(10e6 * scale)))
    lkey, a = np.ascontiguousarray(left["key"]), np.ascontiguousarray(left["a"])
    rkey, b = np.ascontiguousarray(right["key"]), np.ascontiguousarray(right["b"])
    x, y = rd.from_numpy(left), rd.from_numpy(right)  # the right (16 MB) is broadcast
    impls = {"rdarray": lambda: rd.merge(x, y, on="key").compute()}
    pd, pl, duckdb, dd = _peer("pandas"), _peer("polars"), _peer("duckdb"), _peer("dask.dataframe")

    if pd is not None:
        lf, rf = pd.DataFrame({"key": lkey, "a": a}), pd.DataFrame({"key": rkey, "b": b})
        impls["pandas"] = lambda: _join_frame_columns(pd.merge(lf, rf, on="key"))
    if pl is not None:
        plf, prf = pl.DataFrame({"key": lkey, "a": a}), pl.DataFrame({"key": rkey, "b": b})
        impls["polars"] = lambda: [s.to_numpy() for s in plf.join(prf, on="key").select("key", "a", "b").get_columns()]
    if duckdb is not None and pd is not None:
        con = duckdb.connect()
        con.register("l", lf)
        con.register("r", rf)
        query = "SELECT l.key, a, b FROM l JOIN r USING (key)"
        impls["DuckDB"] = lambda: list(con.sql(query).fetchnumpy().values())
    if dd is not None and pd is not None:
        import dask

        dask.config.set(scheduler="threads")
        dl, dr = dd.from_pandas(lf, npartitions=x.npartitions), dd.from_pandas(rf, npartitions=y.npartitions)
        impls["dask.dataframe"] = lambda: _join_frame_columns(dl.merge(dr, on="key").compute())

    return [Case("W5", _join_title(left, right), impls, _join_agree, left.nbytes + right.nbytes)]


# -- text keys (W3-text, W5-text) -----------------------------------------------------------------

def _text_vocabulary(k: int, rng: np.random.Generator) -> list[str]:
    """``k`` distinct strings of 5 to 40 lowercase ASCII letters (lengths uniform)."""
    words: dict[str, None] = {}
    while len(words) < k:
        want = k - len(words) + k // 100 + 16
        lens = rng.integers(5, 41, want)
        letters = rng.integers(97, 123, (want, 40), dtype=np.uint8)
        for i in range(want):
            words[letters[i, :lens[i]].tobytes().decode("ascii")] = None
    return list(words)[:k]


def _text_column(vocabulary: list[str], idx: np.ndarray):
    """A pandas ``str`` column (pandas' default text dtype) of ``vocabulary[idx]``."""
    import pandas as pd
    import pyarrow as pa

    return pd.Series(pa.array(vocabulary, type=pa.large_string()).take(pa.array(idx)), dtype="str")


def _text_bytes(df) -> int:
    """Bytes of a frame's input as rdarray holds it: UTF-8 text, an int64 offset a row, 8 bytes a float."""
    return sum(int(df[c].str.len().sum()) + 8 * len(df) if df[c].dtype == "str" else df[c].to_numpy().nbytes
               for c in df.columns)


def _duckdb_tables(frames: dict, threads: int):
    """A DuckDB connection holding the frames in its own storage (``CREATE TABLE ... AS``)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    for name, df in frames.items():
        con.register("staging", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM staging")
        con.unregister("staging")
    return con


def _text_groupby(n: int, ndistinct: int) -> Case:
    """Sum, mean and count of a float64 value per text key with ``ndistinct`` values."""
    pd, pl, duckdb = _peer("pandas"), _peer("polars"), _peer("duckdb")
    rng = np.random.default_rng(0)
    vocabulary = _text_vocabulary(ndistinct, rng)
    df = pd.DataFrame({"key": _text_column(vocabulary, rng.integers(0, ndistinct, n)),
                       "value": rng.standard_normal(n)})
    x = rd.from_pandas(df)
    impls = {"rdarray": lambda: x.groupby("key").agg({"value": _AGG}).compute(),
             "pandas": lambda: _groupby_columns(df.groupby("key").value.agg(_AGG))}
    if pl is not None:
        pf, v = pl.from_pandas(df).lazy(), pl.col("value")
        impls["polars"] = lambda: [s.to_numpy() for s in pf.group_by("key").agg(
            v.sum().alias("sum"), v.mean().alias("mean"), v.count().alias("count")).collect().get_columns()]
    if duckdb is not None:
        con = _duckdb_tables({"t": df}, rd.get_context().workers)
        query = "SELECT key, sum(value), avg(value), count(value) FROM t GROUP BY key"
        impls["DuckDB"] = lambda: list(con.sql(query).fetchnumpy().values())
    title = f"groupby sum, mean, count: {n:,} rows, {ndistinct:,} text keys of 5-40 chars"
    return Case("W3-text", title, impls, _text_groupby_agree, _text_bytes(df))


def _text_keys(col) -> np.ndarray:
    """A key column as an object array of ``str`` (DuckDB and polars give object arrays too)."""
    col = np.ma.filled(col) if isinstance(col, np.ma.MaskedArray) else col
    return np.asarray(col, dtype=object)


def _text_groupby_agree(r, p) -> bool:
    """As ``_groupby_agree``, the keys compared as ``str`` objects."""
    k = _text_keys(p[0])
    return _groupby_agree(r, (k, *p[1:]))


def _text_join_columns(result) -> tuple:
    """(key, a, b) columns of a join result, sorted by (key, a)."""
    if isinstance(result, np.ndarray):
        key, a, b = result["key"], result["a"], result["b"]
    else:
        key, a, b = result
    key, a, b = _text_keys(key), np.asarray(a), np.asarray(b)
    order = np.lexsort((a, np.unique(key, return_inverse=True)[1]))
    return key[order], a[order], b[order]


def _text_join_agree(r, p) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(_text_join_columns(r), _text_join_columns(p)))


def _text_join(n: int, m: int) -> Case:
    """Inner join of an ``n``-row left (text key, a) with an ``m``-row right (unique text key, b); the
    left's keys are uniform over ``m + m // 10`` strings, so ~91 % of left rows match."""
    pd, pl, duckdb = _peer("pandas"), _peer("polars"), _peer("duckdb")
    rng = np.random.default_rng(0)
    span = m + m // 10
    vocabulary = _text_vocabulary(span, rng)
    rkey = rng.permutation(span)[:m]  # unique, in no particular order
    lf = pd.DataFrame({"key": _text_column(vocabulary, rng.integers(0, span, n)), "a": rng.random(n)})
    rf = pd.DataFrame({"key": _text_column(vocabulary, rkey), "b": rng.random(m)})
    x, y = rd.from_pandas(lf), rd.from_pandas(rf)
    impls = {"rdarray": lambda: rd.merge(x, y, on="key").compute(),
             "pandas": lambda: _join_frame_columns(pd.merge(lf, rf, on="key"))}
    if pl is not None:
        plf, prf = pl.from_pandas(lf).lazy(), pl.from_pandas(rf).lazy()
        impls["polars"] = lambda: [s.to_numpy() for s in
                                   plf.join(prf, on="key").select("key", "a", "b").collect().get_columns()]
    if duckdb is not None:
        con = _duckdb_tables({"l": lf, "r": rf}, rd.get_context().workers)
        query = "SELECT l.key, a, b FROM l JOIN r USING (key)"
        impls["DuckDB"] = lambda: list(con.sql(query).fetchnumpy().values())
    title = f"inner join {n:,} x {m:,} rows on a unique text key of 5-40 chars"
    return Case("W5-text", title, impls, _text_join_agree, _text_bytes(lf) + _text_bytes(rf))


def w3_text(scale: float) -> list[Case]:
    """W3 with text keys: 20M rows, keys from 1,000 and from 1M distinct strings of 5-40 characters
    (the 1M scaled with ``scale``, at most a tenth of the rows, as W4)."""
    if _peer("pandas") is None:
        return []
    n = max(10_000, int(20e6 * scale))
    return [_text_groupby(n, 1000), _text_groupby(n, max(1, min(n // 10, int(1e6 * scale))))]


def w5_text(scale: float) -> list[Case]:
    """W5 with text keys: a 10M-row left, a right of 1,000 and of 1M unique strings of 5-40
    characters (the 1M scaled with ``scale``, a tenth of the left)."""
    if _peer("pandas") is None:
        return []
    n = max(10_000, int(10e6 * scale))
    return [_text_join(n, 1000), _text_join(n, max(1, min(n // 10, int(1e6 * scale))))]


def w6(scale: float) -> list[Case]:
    """merge_asof by symbol: 5M trades (time, symbol, price) with 20M quotes (time, symbol, bid),
    both sorted by an int64 nanosecond time over one 6.5-hour session, 100 symbols, backward."""
    nt = max(10_000, int(5e6 * scale))
    nq = 4 * nt
    rng = np.random.default_rng(0)
    session = int(6.5 * 3600 * 1e9)

    def times(n):  # strictly increasing within each side; a trade and a quote may share a time
        return np.cumsum(rng.integers(1, 2 * (session // n), n))

    trades = np.empty(nt, dtype=[("time", "i8"), ("symbol", "i8"), ("price", "f8")])
    trades["time"], trades["symbol"], trades["price"] = times(nt), rng.integers(0, 100, nt), rng.random(nt)
    quotes = np.empty(nq, dtype=[("time", "i8"), ("symbol", "i8"), ("bid", "f8")])
    quotes["time"], quotes["symbol"], quotes["bid"] = times(nq), rng.integers(0, 100, nq), rng.random(nq)
    x, y = rd.from_numpy(trades), rd.from_numpy(quotes)
    impls = {"rdarray": lambda: rd.merge_asof(x, y, on="time", by="symbol").compute()}
    pd, pl = _peer("pandas"), _peer("polars")
    if pd is not None:
        tf = pd.DataFrame({name: trades[name] for name in trades.dtype.names})
        qf = pd.DataFrame({name: quotes[name] for name in quotes.dtype.names})
        impls["pandas"] = lambda: _asof_columns(pd.merge_asof(tf, qf, on="time", by="symbol"))
    if pl is not None:  # the sortedness flag set, as polars cannot check it per symbol
        sorted_time = pl.col("time").set_sorted()
        ptf = pl.DataFrame({name: trades[name] for name in trades.dtype.names}).with_columns(sorted_time)
        pqf = pl.DataFrame({name: quotes[name] for name in quotes.dtype.names}).with_columns(sorted_time)
        impls["polars"] = lambda: _asof_columns(ptf.join_asof(pqf, on="time", by="symbol", check_sortedness=False))

    def agree(r, p):
        return (np.array_equal(r["price"], p["price"])
                and np.array_equal(r["bid"], np.asarray(p["bid"], dtype="f8"), equal_nan=True))

    return [Case("W6", f"merge_asof backward by symbol: {nt:,} trades, {nq:,} quotes, 100 symbols", impls, agree,
                 trades.nbytes + quotes.nbytes)]


def _asof_columns(df) -> dict:
    """A peer's price and bid columns (bid NaN where no quote came before), in the trades' order."""
    return {"price": df["price"].to_numpy(), "bid": df["bid"].to_numpy()}


@contextlib.contextmanager
def _dask_cluster(workers: int):
    """A dask.distributed client of ``workers`` single-threaded worker processes on this machine,
    or None when distributed, dask.dataframe or pandas is not installed."""
    distributed = _peer("distributed")
    if distributed is None or _peer("dask.dataframe") is None or _peer("pandas") is None:
        yield None
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _npy_frame(client, path: str, npartitions: int):
    """The rows of a ``.npy`` file as a dask.dataframe of ``npartitions`` pieces that the workers
    read from the file themselves, as rdarray's do; held in the workers' memory before timing."""
    import dask.dataframe as dd
    import distributed
    import pandas as pd

    rows = np.load(path, mmap_mode="r")
    bounds = np.linspace(0, len(rows), npartitions + 1).astype(int).tolist()

    def piece(span):
        part = np.load(path, mmap_mode="r")[span[0]:span[1]]
        return pd.DataFrame({name: part[name] for name in part.dtype.names})

    meta = pd.DataFrame({name: np.empty(0, rows.dtype[name]) for name in rows.dtype.names})
    frame = client.persist(dd.from_map(piece, list(zip(bounds[:-1], bounds[1:])), meta=meta))
    with client.as_current():
        distributed.wait(frame)
    return frame


def _on(ctx, fn):
    """``fn`` run with ``ctx`` as the default context, so that one computation can be timed on
    several backends."""
    def run():
        with ctx.as_default():
            return fn()
    return run


def w11(scale: float) -> Iterator[Case]:
    """Processes backend: W3 and W5 on 2 local worker processes against dask.distributed with 2
    single-threaded worker processes, then the per-task round trip and the shuffle throughput on
    loopback. W3 and W5 also run on the dask backend, on the same cluster as the dask.dataframe
    peer. Inputs are ``.npy`` files that the workers on all sides read themselves. A generator, so
    that the contexts and the cluster, started once, stay up until its last case has run."""
    groups = _groupby_rows(max(10_000, int(20e6 * scale)), 1000)
    left, right = _join_tables(max(10_000, int(10e6 * scale)))
    nparts = max(20, int(2000 * min(scale * 10, 1.0)))
    small = np.random.default_rng(0).random(nparts * 10)
    hashed = _hashed_rows(max(10_000, int(20e6 * scale)))
    where = "processes, 2 workers"
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="rdarray-w11-"))
        paths = {}
        for name, rows in [("groups", groups), ("left", left), ("right", right), ("hashed", hashed)]:
            paths[name] = os.path.join(tmp, f"{name}.npy")
            np.save(paths[name], rows)
        stack.enter_context(rd.Context(backend="processes", workers=2))
        client = stack.enter_context(_dask_cluster(2))
        on_dask = None if client is None else stack.enter_context(
            contextlib.closing(rd.Context(backend="dask", client=client)))
        on_dask_where = "dask backend, same cluster"

        xg = rd.from_npy(paths["groups"])
        impls = {"rdarray": lambda: xg.groupby("key").agg({"value": _AGG}).compute()}
        if client is not None:
            fg = _npy_frame(client, paths["groups"], xg.npartitions)
            impls["dask.distributed"] = lambda: _groupby_columns(
                client.compute(fg.groupby("key").value.agg(_AGG)).result())
        yield Case("W11", f"{where}: {_groupby_title(len(groups), 1000)}", impls, _groupby_agree, groups.nbytes)
        if on_dask is not None:
            yield Case("W11", f"{on_dask_where}: {_groupby_title(len(groups), 1000)}",
                       {"rdarray": _on(on_dask, impls["rdarray"]), "dask.dataframe": impls["dask.distributed"]},
                       _groupby_agree, groups.nbytes)

        xl, xr = rd.from_npy(paths["left"]), rd.from_npy(paths["right"])
        impls = {"rdarray": lambda: rd.merge(xl, xr, on="key").compute()}
        if client is not None:
            fl = _npy_frame(client, paths["left"], xl.npartitions)
            fr = _npy_frame(client, paths["right"], xr.npartitions)
            impls["dask.distributed"] = lambda: _join_frame_columns(client.compute(fl.merge(fr, on="key")).result())
        yield Case("W11", f"{where}: {_join_title(left, right)}", impls, _join_agree, left.nbytes + right.nbytes)
        if on_dask is not None:
            yield Case("W11", f"{on_dask_where}: {_join_title(left, right)}",
                       {"rdarray": _on(on_dask, impls["rdarray"]), "dask.dataframe": impls["dask.distributed"]},
                       _join_agree, left.nbytes + right.nbytes)

        xs = rd.from_numpy(small, npartitions=nparts)
        impls = {"rdarray": lambda: (xs + 1).sum().compute()}
        if client is not None:
            import dask.array as da

            ds = da.from_array(small, chunks=10)
            impls["dask.distributed"] = lambda: client.compute((ds + 1).sum()).result()
        yield Case("W11", f"{where}: round trip, (x+1).sum() over {nparts:,} partitions of 10 rows", impls,
                   _close, per_task=nparts)

        xh = rd.from_npy(paths["hashed"])  # count() leaves the shuffled partitions on the workers
        impls = {"rdarray": lambda: xh.partition_by("key").count()}
        if client is not None:
            fh = _npy_frame(client, paths["hashed"], xh.npartitions)
            impls["dask.distributed"] = lambda: client.compute(
                fh.shuffle(on="key", method="p2p").map_partitions(len).sum()).result()
        yield Case("W11", f"{where}: shuffle, partition_by of {len(hashed):,} (int64, float64) rows, count",
                   impls, lambda r, p: int(r) == int(p), hashed.nbytes)


def _kmeans_partial(block: np.ndarray, centroids: np.ndarray) -> tuple:
    """One block's share of a k-means step: per-cluster sums and counts of its rows assigned to
    the nearest centroid, and their squared distances summed (the inertia)."""
    k, dim = centroids.shape
    distances = (block * block).sum(axis=1)[:, None] - 2 * (block @ centroids.T) + (centroids * centroids).sum(axis=1)
    labels = distances.argmin(axis=1)
    sums = np.stack([np.bincount(labels, weights=block[:, f], minlength=k) for f in range(dim)], axis=1)
    return sums, np.bincount(labels, minlength=k), float(distances.min(axis=1).sum())


def _kmeans_merge(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _kmeans(partials, start: np.ndarray, iterations: int) -> tuple[np.ndarray, list[float]]:
    """``iterations`` averaging steps from ``start``; ``partials(centroids)`` gives the merged
    (sums, counts, inertia) of every row. Returns the centroids and the inertia of each step."""
    centroids, inertia = start, []
    for _ in range(iterations):
        sums, counts, total = partials(centroids)
        centroids = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centroids)
        inertia.append(total)
    return centroids, inertia


def w12(scale: float) -> list[Case]:
    """Iterative: 10 iterations of mini-batch k-means averaging over 5M x 8 float64, persisted."""
    rng = np.random.default_rng(0)
    k, iterations = 8, 10
    centers = rng.normal(0.0, 5.0, size=(k, 8))
    n = max(2000, int(5e6 * scale))
    a = centers[rng.integers(0, k, n)] + rng.normal(size=(n, 8))
    start = a[rng.choice(n, k, replace=False)]
    x = rd.from_numpy(a).persist()
    x.count()  # persisted before timing, as each peer's input is in memory

    def with_rdarray(c):
        return x.reduce(lambda b: _kmeans_partial(b, c), _kmeans_merge).compute()

    impls = {"rdarray": lambda: _kmeans(with_rdarray, start, iterations),
             "numpy": lambda: _kmeans(lambda c: _kmeans_partial(a, c), start, iterations)}
    da = _dask_array()
    if da is not None:
        import dask

        blocks = da.from_array(a, chunks=(-(-n // x.npartitions), 8)).persist().to_delayed().ravel()
        step = dask.delayed(_kmeans_partial)

        def with_dask(c):
            parts = dask.compute(*[step(b, c) for b in blocks])
            merged = parts[0]
            for part in parts[1:]:
                merged = _kmeans_merge(merged, part)
            return merged

        impls["dask.array"] = lambda: _kmeans(with_dask, start, iterations)

    def agree(r, p):
        return np.allclose(r[0], p[0], rtol=1e-9, atol=1e-9) and np.allclose(r[1], p[1], rtol=1e-9)

    return [Case("W12", f"{iterations} k-means averaging steps, k={k}, {a.shape} float64, persisted",
                 impls, agree, a.nbytes * iterations)]


def w13(scale: float) -> list[Case]:
    """Wide-table analytics: five pipelines (``tables.py``) over a 6M-row, 16-field fact table
    and its dimension tables, against DuckDB on its own tables, polars (lazy) and pandas."""
    from . import tables as T

    data = T.make_tables(max(5_000, int(6e6 * scale)))
    x = T.rdarray_tables(data)
    pd, pl, duckdb = _peer("pandas"), _peer("polars"), _peer("duckdb")
    frames = T.pandas_tables(data) if pd is not None else None
    pframes = T.polars_tables(data) if pl is not None else None
    con = T.duckdb_connection(data, rd.get_context().workers) if duckdb is not None and pd is not None else None
    cases = []
    for p in T.RDARRAY:
        impls = {"rdarray": lambda p=p: T.RDARRAY[p](x)}
        if con is not None:
            impls["DuckDB"] = lambda p=p: T.duckdb_query(con, p)
        if pframes is not None:
            impls["polars"] = lambda p=p: T.POLARS[p](pframes)
        if frames is not None:
            impls["pandas"] = lambda p=p: T.PANDAS[p](frames)

        def agree(r, q, p=p):
            return T.same(T.normalize(r, p), T.normalize(q, p))

        cases.append(Case("W13", T.title(data, p), impls, agree,
                          read_bytes=T.read_bytes(data, p)))
    # BENCHMARKS.md: a mask over the 16-field table keeping 3 fields costs at most 1.3 x the same
    # mask over a table of those 3 fields alone
    narrow = rd.from_numpy(np.ascontiguousarray(data["sales"][T.NARROW]).astype(
        [(f, data["sales"].dtype[f]) for f in T.NARROW]))
    n = len(data["sales"])
    cases.append(Case("W13", f"mask on 2 fields keeping 3 of 16, {n:,} rows",
                      {"rdarray": lambda: T.rd_mask_kept(x["sales"]),
                       "rdarray, 3-field table": lambda: T.rd_mask_kept(narrow)},
                      np.array_equal, read_bytes=n * sum(data["sales"].dtype[f].itemsize for f in T.NARROW)))
    return cases


#: workload id -> cases; W8 also has one frame per array against the raw codec, measured by ``codec_bench``
WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W3-text": w3_text, "W5-text": w5_text,
             "W6": w6, "W7": w7, "W8": w8_frames, "W9": w9,
             "W10": w10, "W11": w11, "W12": w12, "W13": w13, "W14": w14, "SPILL": spill,
             "NLARGEST": nlargest, "QUANTILE": quantile, "GRAM": gram, "TSQR": tsqr, "CUMSUM": cumsum}
