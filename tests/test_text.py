"""Variable-width text (``rdarray.text.Text``) and its kernels, against NumPy's StringDType and pandas."""

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdarray.shuffle import hashing
from rdarray.text import FIELD, TEXT, Text, array_dtype, concat, field_dtype, is_text

# surrogate-free unicode, empty strings, long values; None is missing
values = st.lists(st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
                            st.text("ab", min_size=100, max_size=300)), max_size=40)


def oracle(items) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in items], dtype=TEXT)


def same(t: Text, items) -> None:
    expected = [np.nan if v is None else v for v in items]
    got = list(t.to_objects())
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert (isinstance(g, float) and isinstance(e, float)) or g == e, (g, e)


@settings(max_examples=60, deadline=None)
@given(values)
def test_round_trips_through_every_layout(items):
    t = Text.of(oracle(items))
    same(t, items)
    same(Text.of(np.array(items, dtype=object)), items)
    same(pickle.loads(pickle.dumps(t)), items)
    np.testing.assert_array_equal(t.to_numpy(), oracle(items))
    assert t.nbytes == 8 * (len(items) + 1) + sum(len(v.encode()) for v in items if v is not None) + (
        len(items) if any(v is None for v in items) else 0)
    present = [v for v in items if v is not None and not v.endswith("\x00")]  # 'U' drops trailing NULs
    same(Text.of(np.array(present, dtype=str)) if present else Text.empty(), present)
    arrow = t.to_arrow().to_pylist()
    assert arrow == items


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_rows_and_comparisons_match_stringdtype(items, data):
    a = oracle(items)
    t = Text.of(a)
    n = len(items)
    rows = data.draw(st.lists(st.integers(-n, n - 1), max_size=20)) if n else []
    same(t.take(rows), [items[r] for r in rows])
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    same(t[mask], [v for v, m in zip(items, mask) if m])
    lo, hi = sorted(data.draw(st.lists(st.integers(0, n), min_size=2, max_size=2)))
    same(t[lo:hi], items[lo:hi])
    same(t[lo:hi].copy(), items[lo:hi])
    same(concat([t[:lo], t[lo:hi], t[hi:]]), items)
    constant = data.draw(st.sampled_from([v for v in items if v is not None] + ["", "a", "é"]))
    for op in ("==", "!=", "<", "<=", ">", ">="):
        # a missing row is != everything, as pandas (NaN) has it; NumPy's StringDType says False
        expected = {"==": a == constant, "!=": ~(a == constant), "<": a < constant, "<=": a <= constant,
                    ">": a > constant, ">=": a >= constant}[op]
        np.testing.assert_array_equal(t.compare(constant, op), expected)
    other = a[::-1].copy()
    np.testing.assert_array_equal(t == Text.of(other), a == other)
    np.testing.assert_array_equal(t != Text.of(other), ~(a == other))
    np.testing.assert_array_equal(t < Text.of(other), a < other)


@settings(max_examples=60, deadline=None)
@given(values)
def test_factorize_and_hash_as_pandas(items):
    t = Text.of(oracle(items))
    ids, n, first = hashing.factorize(t)
    expected, uniques = pd.factorize(pd.Series(items, dtype=object), use_na_sentinel=False)
    np.testing.assert_array_equal(ids, expected)
    assert n == len(uniques)
    np.testing.assert_array_equal(first, [list(expected).index(g) for g in range(n)])
    present = [v for v in items if v is not None and "\x00" not in v]
    fixed = np.array([v.encode() for v in present], dtype="S") if present else np.empty(0, "S1")
    np.testing.assert_array_equal(hashing.hash_keys(Text.of(present)), hashing.hash_keys(fixed))


def test_index_meets_fixed_width_and_text_keys():
    t = Text.of(["ab", None, "c", "ab", ""])
    index = hashing.HashIndex(np.array([b"c", b"ab"], "S2"))
    np.testing.assert_array_equal(index.lookup(t), [1, -1, 0, 1, -1])
    index = hashing.HashIndex(t)
    np.testing.assert_array_equal(index.lookup(np.array(["c", "zz", "ab"], "U2")), [2, -1, 0])
    np.testing.assert_array_equal(index.lookup(Text.of([None, "c"])), [1, 2])  # missing meets missing


def test_numpy_functions_run_on_strings_and_give_text():
    t = Text.of(["ab", "c", "ab"])
    assert isinstance(t + "!", Text)
    same(t + "!", ["ab!", "c!", "ab!"])
    np.testing.assert_array_equal(np.strings.str_len(t), [2, 1, 2])
    sorted_ = np.sort(t)
    assert isinstance(sorted_, Text)
    same(sorted_, ["ab", "ab", "c"])
    np.testing.assert_array_equal(np.asarray(t), np.array(["ab", "c", "ab"], dtype=TEXT))


def test_dtypes():
    assert is_text(TEXT) and is_text(FIELD) and is_text(np.dtypes.StringDType())
    assert not is_text(np.dtype(object)) and not is_text(np.dtype("U3"))
    assert field_dtype(TEXT) == FIELD and array_dtype(FIELD) == TEXT
    assert np.dtype([("k", FIELD), ("v", "f8")])["k"].metadata == {"rdarray": "text"}


def test_bad_input():
    with pytest.raises(TypeError, match="int"):
        Text.of(np.array(["a", 3], dtype=object))
    with pytest.raises(TypeError, match="not text"):
        Text.of(np.arange(3))
    with pytest.raises(IndexError):
        Text.of(["a"]).take([1])
    with pytest.raises(IndexError):
        Text.of(["a"])[1]
    with pytest.raises(ValueError, match="rows"):
        Text.of(["a", "b"]).compare(Text.of(["a"]), "==")
