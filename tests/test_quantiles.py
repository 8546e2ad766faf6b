"""Exact quantiles by selection against NumPy: np.quantile, np.percentile, np.median and their
NaN-skipping forms on every layout (empty partitions, one row, NaN, ties, integers, float32,
columns), and values whose keys crowd one bucket (narrowed by further passes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _helpers import BACKENDS, layouts, partitioned

QS = [0.5, 0.0, 1.0, 0.333, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]]


def _check(name, a, x, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.asarray(getattr(np, name)(a, *args, **kwargs))
        got = np.asarray(getattr(np, name)(x, *args, **kwargs).compute())
    assert got.dtype == expected.dtype and got.shape == expected.shape, (name, args, got, expected)
    np.testing.assert_array_equal(got, expected)


def _data():
    rng = np.random.default_rng(7)
    with_nan = rng.normal(size=300)
    with_nan[rng.random(300) < 0.2] = np.nan
    return {
        "normal": rng.normal(size=1001),
        "ties": rng.integers(0, 5, 300),
        "uint8": rng.integers(0, 255, 97).astype(np.uint8),
        "float32": rng.normal(size=100).astype(np.float32),
        "one row": np.array([5.0]),
        "with nan": with_nan,
        "signed zeros and infinities": np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, 0.0]),
        "huge ints": np.array([2**62, -2**62, 3, 2**62 - 1, -5], np.int64),
    }


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("kind", list(_data()))
def test_against_numpy(ctx, kind):
    a = _data()[kind]
    for lengths in ([len(a)], [0, len(a) // 3, 0, len(a) - len(a) // 3]):
        x = partitioned(a, lengths)
        for q in QS:
            _check("quantile", a, x, q)
            _check("nanquantile", a, x, q)
        _check("percentile", a, x, [5, 50, 95])
        _check("nanpercentile", a, x, 37.5)
        _check("median", a, x)
        _check("nanmedian", a, x)


def test_columns():
    a = np.random.default_rng(1).normal(size=(120, 3))
    a[::7, 1] = np.nan
    x = partitioned(a, [50, 0, 70])
    for q in QS:
        _check("quantile", a, x, q, axis=0)
        _check("nanquantile", a, x, q, axis=0)
    _check("median", a, x, axis=0)
    _check("nanmedian", a, x, axis=0)


def test_values_crowding_one_bucket_are_narrowed(monkeypatch):
    from rdarray.array import quantiles

    monkeypatch.setattr(quantiles, "_GATHER", 16)  # every bucket holding more is searched again
    rng = np.random.default_rng(2)
    a = np.concatenate([1000 + rng.random(500) * 1e-9, [1e300, -1e300], np.full(200, 1000.5)])
    x = partitioned(a, [300, 0, 402])
    for q in QS:
        _check("quantile", a, x, q)
    b = rng.integers(0, 3, 400)
    _check("quantile", b, partitioned(b, [100, 300]), QS[-1])


def test_bad_input():
    x = partitioned(np.arange(10.0), [5, 5])
    with pytest.raises(ValueError, match="q must be"):
        np.quantile(x, 1.5)
    with pytest.raises(NotImplementedError, match="method"):
        np.quantile(x, 0.5, method="nearest")
    with pytest.raises(TypeError, match="keepdims"):
        np.median(x, keepdims=True)
    with pytest.raises(TypeError):
        np.quantile(partitioned(np.array(["a", "b"]), [1, 1]), 0.5)


@given(st.data())
def test_hypothesis_against_numpy(data):
    a = data.draw(hnp.arrays(np.float64, st.integers(1, 40),
                             elements=st.one_of(st.just(np.nan), st.floats(-1e9, 1e9, allow_nan=False))))
    x = partitioned(a, data.draw(layouts(len(a))))
    q = data.draw(st.floats(0, 1))
    _check("nanquantile", a, x, q)
    _check("quantile", a, x, [q, 0.5])
    _check("nanmedian", a, x)


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
def test_table_quantile_against_pandas(ctx):
    pd = pytest.importorskip("pandas")
    import rdarray as rd

    rng = np.random.default_rng(4)
    df = pd.DataFrame({"i": rng.integers(-50, 50, 200), "f": rng.normal(size=200), "b": rng.random(200) < 0.3,
                       "s": rng.choice(["a", "b"], 200)})
    df.loc[df.index[::9], "f"] = np.nan
    t = rd.from_pandas(df, npartitions=4)
    numeric = df[["i", "f", "b"]].astype(np.float64)
    got = t.quantile([0.1, 0.5, 0.9]).compute()
    expected = numeric.quantile([0.1, 0.5, 0.9])
    for f in ("i", "f", "b"):
        np.testing.assert_allclose(got[f], expected[f].to_numpy(), rtol=1e-15)
    np.testing.assert_array_equal(got["quantile"], [0.1, 0.5, 0.9])
    one = t.quantile(0.25).compute()
    assert set(one) == {"i", "f", "b"}
    for f in one:
        assert one[f] == pytest.approx(numeric[f].quantile(0.25), rel=1e-15)
    x = rd.from_pandas(df[["f"]])["f"]
    assert float(x.quantile(0.3).compute()) == pytest.approx(df["f"].quantile(0.3), rel=1e-15)
