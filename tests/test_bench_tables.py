"""W13's pipelines (benchmarks/tables.py) give pandas' answers on every engine, on tiny tables:
rdarray on each backend and partition layout (many partitions, empty ones, one row, filters that
keep nothing), DuckDB on its own tables and polars where they are installed."""
from __future__ import annotations

import numpy as np
import pytest

import rdarray as rd
from _helpers import split
from benchmarks import tables as T

pd = pytest.importorskip("pandas")

PIPELINES = list(T.RDARRAY)


@pytest.fixture(scope="module")
def data():
    return T.make_tables(3_000)


@pytest.fixture(scope="module")
def expected(data):
    frames = T.pandas_tables(data)
    return {p: T.normalize(T.PANDAS[p](frames), p) for p in PIPELINES}


def _uneven(a: np.ndarray) -> rd.PartitionedArray:
    """``a`` in 9 partitions of uneven lengths, three of them empty."""
    n = len(a)
    cuts = [0, n // 7, n // 7, 1, n // 3, 0, n // 5, 0]
    return rd.from_partitions(split(a, cuts + [n - sum(cuts)]))


def _agree(got, want, p):
    got = T.normalize(got, p)
    assert T.same(got, want), {k: (got.get(k, [])[:5], want[k][:5]) for k in want}


@pytest.mark.parametrize("p", PIPELINES)
def test_rdarray_agrees_with_pandas(ctx, data, expected, p):
    x = T.rdarray_tables(data)
    _agree(T.RDARRAY[p](x), expected[p], p)


@pytest.mark.parametrize("p", PIPELINES)
def test_rdarray_agrees_on_uneven_partitions(data, expected, p):
    x = {name: _uneven(a) for name, a in data.items()}
    _agree(T.RDARRAY[p](x), expected[p], p)


@pytest.mark.parametrize("p", PIPELINES)
def test_duckdb_agrees_with_pandas(data, expected, p):
    pytest.importorskip("duckdb")
    _agree(T.duckdb_query(T.duckdb_connection(data, 2), p), expected[p], p)


@pytest.mark.parametrize("p", PIPELINES)
def test_polars_agrees_with_pandas(data, expected, p):
    pytest.importorskip("polars")
    _agree(T.POLARS[p](T.polars_tables(data)), expected[p], p)


@pytest.mark.parametrize("case", ["nothing kept", "one row"])
def test_odd_tables(case):
    data = T.make_tables(100, seed=1)
    if case == "nothing kept":  # every date filter of P1-P5 rejects every row
        data["sales"]["order_date"] = np.datetime64("1992-01-01")
        data["sales"]["ship_date"] = np.datetime64("1999-01-01")
    else:
        data["sales"] = data["sales"][:1]
        data["sales"]["order_date"] = np.datetime64("1996-11-05")
        data["sales"]["ship_date"] = np.datetime64("1996-11-09")
        data["sales"][["quantity", "discount", "is_promo", "is_returned"]] = (20, 0.05, True, False)
        data["sales"]["ship_mode"], data["sales"]["priority"] = b"AIR", b"1-URGENT"
    frames = T.pandas_tables(data)
    x = {name: rd.from_numpy(a, npartitions=min(3, max(1, len(a)))) for name, a in data.items()}
    for p in PIPELINES:
        want = T.normalize(T.PANDAS[p](frames), p)
        rows = 0 if case == "nothing kept" or p == "P2" else 1  # P2 reads 1995 only
        assert len(next(iter(want.values()))) == rows, p
        _agree(T.RDARRAY[p](x), want, p)


def test_assign_appends_fields_and_keeps_the_others(data):
    s = data["sales"][:50]
    got = rd.from_numpy(s, npartitions=3).assign(revenue=T.REVENUE, year=T.YEAR).compute()
    assert got.dtype.names == s.dtype.names + ("revenue", "year")
    for f in s.dtype.names:
        assert np.array_equal(got[f], s[f])
    assert np.array_equal(got["revenue"], s["price"] * (1 - s["discount"]))
    assert np.array_equal(got["year"], s["order_date"].astype("M8[Y]").astype(np.int64) + 1970)


def test_read_bytes_count_only_the_fields_read(data):
    n = len(data["sales"])
    assert T.read_bytes(data, "P3") == n * (8 + 8 + 1 + 8 + 8 + 8)  # dates, ship_mode S8, bool, id, 2 floats
    assert len(data["sales"].dtype.names) == 16


def test_mask_keeping_three_fields(ctx, data):
    s = data["sales"]
    keep = (s["order_date"] >= np.datetime64("1995-01-01")) & (s["quantity"] > 25)
    got = T.rd_mask_kept(_uneven(s))
    want = s[keep][T.NARROW]
    assert got.dtype.names == tuple(T.NARROW) and len(got) == keep.sum()
    for f in T.NARROW:
        assert np.array_equal(got[f], want[f])
