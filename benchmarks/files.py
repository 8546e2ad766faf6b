"""W14, files: W13's 16-field fact table written once by pyarrow as a Parquet file of 12 row groups
and as a CSV file (about 1 GB at 6M rows), then read by rdarray and by pyarrow, polars, DuckDB and
pandas from the same files:

- every field of the Parquet file, and of the CSV file, held in memory (rdarray: persisted);
- the three fields a filtered sum uses, from the Parquet file (column pruning);
- W13's pipeline P1 straight from the Parquet file.

Each case's title says how many bytes rdarray read from the files (``rchar`` of
``/proc/self/io``: what its read calls returned) against the file's size, so pruning shows.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator

import numpy as np

import rdarray as rd

from .harness import Case

ROW_GROUPS = 12
#: the fields of the pruned case and its answer: revenue of the orders of 25 items or more
PRUNED = ["quantity", "price", "discount"]
DATES = ["order_date", "ship_date"]
#: pandas reads Parquet dates as ``datetime64`` with this (its default is Python ``date`` objects)
DATES_AS_DATETIMES = {"date_as_object": False}


def write_files(sales: np.ndarray, directory: str) -> tuple[str, str]:
    """``sales`` as ``sales.parquet`` (``ROW_GROUPS`` row groups) and ``sales.csv`` in ``directory``,
    both written by pyarrow: text as UTF-8 strings, dates as dates."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.table({f: pa.array(sales[f].astype("U") if sales.dtype[f].kind == "S" else sales[f])
                      for f in sales.dtype.names})
    parquet, csv = os.path.join(directory, "sales.parquet"), os.path.join(directory, "sales.csv")
    pq.write_table(table, parquet, row_group_size=-(-len(sales) // ROW_GROUPS))
    pacsv.write_csv(table, csv)
    return parquet, csv


def bytes_read(fn) -> int | None:
    """Bytes this process's read calls returned while ``fn()`` ran (None off Linux). Files read by
    memory maps are not counted: rdarray and pyarrow read Parquet and CSV files with ``pread``."""
    def rchar() -> int | None:
        try:
            with open("/proc/self/io") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))
        except OSError:
            return None

    before = rchar()
    fn()
    after = rchar()
    return None if before is None or after is None else after - before


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _share(read: int | None, path: str) -> str:
    """"rdarray read R MB (P % of the file's S MB)"."""
    size = os.path.getsize(path)
    got = "?" if read is None else f"{_mb(read)} ({read / size:.0%} of the file's {_mb(size)})"
    return f"rdarray read {got}"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _duckdb():
    """A DuckDB connection with as many threads as rdarray has workers."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {int(rd.get_context().workers)}")
    return con


def _held(x):
    """Every field of ``x`` computed once and kept (rdarray's "read into memory"); its row count
    and price total, the answer every engine gives."""
    x.persist()
    try:
        total = float(x["price"].sum())  # computes and keeps every field
        return int(x.count()), total
    finally:
        x.unpersist()


def _agree(r, p) -> bool:
    return r[0] == p[0] and np.isclose(r[1], p[1], rtol=1e-9)


def _read_all(kind: str, path: str, nrows: int) -> Case:
    if kind == "Parquet":
        impls = {"rdarray": lambda: _held(rd.read_parquet(path))}
    else:
        impls = {"rdarray": lambda: _held(rd.read_csv(path, parse_dates=DATES))}
    read = bytes_read(impls["rdarray"])
    if _installed("pyarrow"):
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        def pyarrow_read():
            t = pq.read_table(path) if kind == "Parquet" else pacsv.read_csv(path)
            return t.num_rows, pc.sum(t["price"]).as_py()

        impls["pyarrow"] = pyarrow_read
    if _installed("polars"):
        import polars as pl

        def polars_read():
            df = pl.read_parquet(path) if kind == "Parquet" else pl.read_csv(path, try_parse_dates=True)
            return df.height, df["price"].sum()

        impls["polars"] = polars_read
    if _installed("duckdb"):
        con = _duckdb()
        reader = "read_parquet" if kind == "Parquet" else "read_csv"

        def duckdb_read():  # into DuckDB's own storage: its "read into memory"
            con.execute(f"CREATE OR REPLACE TABLE sales AS SELECT * FROM {reader}('{path}')")
            return con.execute("SELECT count(*), sum(price) FROM sales").fetchone()

        impls["DuckDB"] = duckdb_read
    if _installed("pandas"):
        import pandas as pd

        def pandas_read():
            if kind == "Parquet":
                df = pd.read_parquet(path, to_pandas_kwargs=DATES_AS_DATETIMES)
            else:
                df = pd.read_csv(path, parse_dates=DATES)
            return len(df), float(df["price"].sum())

        impls["pandas"] = pandas_read
    title = f"read a {kind} file whole: 16 fields, {nrows:,} rows; {_share(read, path)}"
    return Case("W14", title, impls, _agree)


def _pruned(path: str, nrows: int) -> Case:
    """sum(price * (1 - discount)) where quantity >= 25: 3 of 16 fields."""
    def rdarray_sum():
        t = rd.read_parquet(path)
        t = t[t["quantity"] >= 25]
        return float((t["price"] * (1 - t["discount"])).sum())

    impls = {"rdarray": rdarray_sum}
    read = bytes_read(rdarray_sum)
    if _installed("pyarrow"):
        import pyarrow.parquet as pq

        def pyarrow_sum():
            t = pq.read_table(path, columns=PRUNED)
            q, price, disc = (t[f].to_numpy() for f in PRUNED)
            keep = q >= 25
            return float((price[keep] * (1 - disc[keep])).sum())

        impls["pyarrow"] = pyarrow_sum
    if _installed("polars"):
        import polars as pl

        def polars_sum():
            return (pl.scan_parquet(path).filter(pl.col("quantity") >= 25)
                    .select((pl.col("price") * (1 - pl.col("discount"))).sum()).collect().item())

        impls["polars"] = polars_sum
    if _installed("duckdb"):
        con = _duckdb()

        def duckdb_sum():
            return con.execute(f"SELECT sum(price * (1 - discount)) FROM read_parquet('{path}') "
                               "WHERE quantity >= 25").fetchone()[0]

        impls["DuckDB"] = duckdb_sum
    if _installed("pandas"):
        import pandas as pd

        def pandas_sum():
            df = pd.read_parquet(path, columns=PRUNED)
            df = df[df["quantity"] >= 25]
            return float((df["price"] * (1 - df["discount"])).sum())

        impls["pandas"] = pandas_sum

    def agree(r, p):
        return np.isclose(r, p, rtol=1e-9)

    title = f"Parquet, 3 of 16 fields: filtered sum, {nrows:,} rows; {_share(read, path)}"
    return Case("W14", title, impls, agree)


def _pipeline(path: str, nrows: int) -> Case:
    """W13's P1 over the Parquet file."""
    from . import tables as T

    impls = {"rdarray": lambda: T.rd_p1({"sales": rd.read_parquet(path)})}
    read = bytes_read(impls["rdarray"])
    if _installed("polars"):
        import polars as pl

        impls["polars"] = lambda: T.pl_p1({"sales": pl.scan_parquet(path)})
    if _installed("duckdb"):
        con = _duckdb()
        sql = T.SQL["P1"].replace("FROM sales", f"FROM read_parquet('{path}')")
        impls["DuckDB"] = lambda: con.sql(sql).fetchnumpy()
    if _installed("pandas"):
        import pandas as pd

        impls["pandas"] = lambda: T.pd_p1({"sales": pd.read_parquet(
            path, columns=T.READS["P1"]["sales"], to_pandas_kwargs=DATES_AS_DATETIMES)})

    def agree(r, p):
        return T.same(T.normalize(r, "P1"), T.normalize(p, "P1"))

    title = f"W13 P1 (7 of 16 fields) from the Parquet file, {nrows:,} rows; {_share(read, path)}"
    return Case("W14", title, impls, agree)


def w14(scale: float) -> Iterator[Case]:
    """The W14 cases over files written into a temporary directory; a generator, so that the files
    stay until its last case has run."""
    from . import tables as T

    sales = T.make_tables(max(5_000, int(6e6 * scale)))["sales"]
    n = len(sales)
    with tempfile.TemporaryDirectory(prefix="rdarray-w14-") as directory:
        parquet, csv = write_files(sales, directory)
        del sales
        yield _read_all("Parquet", parquet, n)
        yield _pruned(parquet, n)
        yield _read_all("CSV", csv, n)
        yield _pipeline(parquet, n)
