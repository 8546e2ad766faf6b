"""Tests of the hashing kernels (rdarray._core.hashing) through their wrapper rdarray.shuffle.hashing:
hash equality of equal keys, spread over partitions, scatter against a NumPy oracle, factorize and
the group accumulators against pandas, concurrent use, and bad input."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdarray._core import compiled_kernels
from rdarray.shuffle import hashing as hs

RNG = np.random.default_rng(7)
INTS = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]
NANS = np.array([0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFFFFFFFFFFFFFFF,
                 0x7FF4000000000000], dtype=np.uint64).view(np.float64)


def _strings(n: int, width: int = 6) -> np.ndarray:
    return np.array(["".join(chr(97 + c) for c in RNG.integers(0, 26, RNG.integers(0, width + 1)))
                     for _ in range(n)], dtype=f"U{width}")


def _oracle_factorize(columns: list[np.ndarray]) -> np.ndarray:
    if len(columns) == 1:
        return pd.factorize(columns[0], use_na_sentinel=False)[0]
    df = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    return df.groupby(list(df.columns), sort=False, dropna=False).ngroup().to_numpy()


def _check_factorize(columns: list[np.ndarray]) -> None:
    ids, n_groups, first = hs.factorize(columns)
    expected = _oracle_factorize(columns)
    assert ids.dtype == np.int64 and first.dtype == np.int64
    np.testing.assert_array_equal(ids, expected)
    assert n_groups == (expected.max() + 1 if len(expected) else 0)
    np.testing.assert_array_equal(first, np.unique(expected, return_index=True)[1])


def _check_scatter(rows: np.ndarray, targets: np.ndarray, npartitions: int) -> None:
    out, offsets = hs.scatter(rows, targets, npartitions)
    order = np.argsort(np.asarray(targets, dtype=np.int64), kind="stable")
    expected = np.asarray(rows)[order]
    assert out.dtype == expected.dtype and out.shape == expected.shape and out.flags.c_contiguous
    assert out.tobytes() == expected.tobytes()  # bytes: NaNs and padding compared too
    counts = np.bincount(np.asarray(targets, dtype=np.int64), minlength=npartitions)
    assert offsets.dtype == np.int64
    np.testing.assert_array_equal(offsets, np.concatenate([[0], np.cumsum(counts)]))


def test_kernel_built() -> None:
    assert "hashing" in compiled_kernels()


# --- hash_keys --------------------------------------------------------------------------------

def test_golden_values() -> None:
    """The hash is fixed: the same in every process and run (no random seed)."""
    assert hs.hash_keys(np.arange(3)).tolist() == [
        16294208416658607535, 16490336266968443936, 10905525725756348110]
    assert hs.hash_keys([np.array([7]), np.array(["key"])]).tolist() == [9884729849926056053]
    assert hs.hash_keys(np.array([b"abc"])).tolist() == [13386033031426528139]
    assert hs.hash_keys(np.array([1.5])).tolist() == [9832619553069098951]


#: Hashes pinned for one column of every key dtype (each numeric width is dispatched on its own):
#: the hash is part of what saved and shuffled data rely on, so it must never change.
PINNED = [
    (np.array([0, -1, 7], np.int8), [0xE220A8397B1DCDAF, 0xDE0A564CBCD060C4, 0xF75F04CBB5A1A1DD]),
    (np.array([0, -1, 300], np.int16), [0xE220A8397B1DCDAF, 0xDE0A564CBCD060C4, 0x16ECD10E03CAED1D]),
    (np.array([0, -1, 70000], np.int32), [0xE220A8397B1DCDAF, 0xDE0A564CBCD060C4, 0x6DBDBBB587A349EE]),
    (np.array([0, -1, 2**40], np.int64), [0xE220A8397B1DCDAF, 0xDE0A564CBCD060C4, 0x7EC2F3D2E3AE3E6B]),
    (np.array([0, 1, 255], np.uint8), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0x96519DD7D49DF4AE]),
    (np.array([0, 1, 65535], np.uint16), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0xA0DAB0387542E050]),
    (np.array([0, 1, 2**32 - 1], np.uint32), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0xADEF16CE72F93470]),
    (np.array([0, 1, 2**64 - 1], np.uint64), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0xDE0A564CBCD060C4]),
    (np.array([False, True, True]), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0xE4D971771B652C20]),
    (np.array([-0.0, 1.5, np.nan], np.float32), [0xE220A8397B1DCDAF, 0x88747B63583E67C7, 0x8709D8D19B4C0AC2]),
    (np.array([-0.0, 1.5, np.nan]), [0xE220A8397B1DCDAF, 0x88747B63583E67C7, 0x8709D8D19B4C0AC2]),
    (np.array([0, 1, 2], "datetime64[s]"), [0xE220A8397B1DCDAF, 0xE4D971771B652C20, 0x975835DE1C9756CE]),
    (np.array([b"", b"abc", b"abcdefghij"], "S10"), [0xE220A8397B1DCDAF, 0xB9C4BE1EADD2D38B, 0x1520AAA8B1BCD2FF]),
    (np.array(["", "a", "h\u00e9llo"], "U5"), [0xE220A8397B1DCDAF, 0x2971C9EBFB09C2CA, 0x125CDCACE69BB43]),
]


@pytest.mark.parametrize("column, expected", PINNED, ids=[str(c.dtype) for c, _ in PINNED])
def test_pinned_values_of_every_key_dtype(column: np.ndarray, expected: list[int]) -> None:
    assert hs.hash_keys(column).tolist() == expected


def test_pinned_values_of_a_multi_column_key() -> None:
    rows = [PINNED[3][0], PINNED[13][0], PINNED[10][0]]  # int64, str, float64 in one key
    assert hs.hash_keys(rows).tolist() == [0x33FE8BD4F9C57863, 0x6E630A936D71226A, 0x3CECF2BD3233E116]


@pytest.mark.parametrize("dtype", INTS + ["?"])
def test_integers_hash_alike_in_every_width(dtype: str) -> None:
    values = np.arange(-300, 300)
    if dtype == "?":
        values = np.array([0, 1])
    else:
        values = values[(values >= np.iinfo(dtype).min) & (values <= np.iinfo(dtype).max)]
    np.testing.assert_array_equal(hs.hash_keys(values.astype(dtype)), hs.hash_keys(values.astype("i8")))


def test_integer_extremes() -> None:
    big = np.array([2**63, 2**64 - 1], dtype=np.uint64)  # documented: hash as the int64 of the same bits
    np.testing.assert_array_equal(hs.hash_keys(big), hs.hash_keys(big.view(np.int64)))
    assert len(set(hs.hash_keys(np.array([2**63 - 1, 2**63 - 2], np.uint64)).tolist())) == 2


def test_floats_zero_and_nan() -> None:
    h = hs.hash_keys(np.array([0.0, -0.0]))
    assert h[0] == h[1]
    h = hs.hash_keys(NANS)
    assert len(set(h.tolist())) == 1
    nans32 = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF], np.uint32).view(np.float32)
    assert set(hs.hash_keys(nans32).tolist()) == set(h.tolist())
    x = np.array([0.5, -2.25, 1024.0, np.inf, -np.inf, -0.0])  # exact in every width
    for dt in ("f2", "f4", "f8"):
        np.testing.assert_array_equal(hs.hash_keys(x.astype(dt)), hs.hash_keys(x.astype("f8")))
    assert len(set(hs.hash_keys(np.array([0.0, 1.0, -1.0, np.nan, np.inf])).tolist())) == 5


def test_nat_hashed_alike() -> None:
    nat = [np.array(["NaT"], f"{k}8[{u}]") for k in "Mm" for u in ("s", "ns", "D")]
    assert len({int(hs.hash_keys(a)[0]) for a in nat}) == 1
    t = np.array(["2020-01-01", "NaT", "2020-01-02", "NaT"], "M8[s]")
    h = hs.hash_keys(t)
    assert h[1] == h[3] and len(set(h.tolist())) == 3


def test_strings_ignore_trailing_nuls() -> None:
    words = ["", "a", "ab", "abcdefgh", "abcdefghi", "a\x00b", "x" * 17]
    for kind in "SU":
        arrays = [np.array(words, f"{o}{kind}{w}") for o in "<>" for w in (17, 20, 40)]
        hashes = [hs.hash_keys(a) for a in arrays]
        for h in hashes[1:]:
            np.testing.assert_array_equal(h, hashes[0])
        assert len(set(hashes[0].tolist())) == len(words)
    s = np.array([b"ab", b"ab\x00\x00"], "S4")  # NumPy stores both as b"ab"
    assert s[0] == s[1] and hs.hash_keys(s)[0] == hs.hash_keys(s)[1]


def test_multi_column_and_strided() -> None:
    a = RNG.integers(-50, 50, 1000)
    s = _strings(1000)
    rec = np.zeros(1000, [("x", "i1"), ("k", "i4"), ("s", "U9"), ("f", "f8")])  # packed: unaligned fields
    rec["k"], rec["s"], rec["f"] = a, s, a / 4
    h = hs.hash_keys([a, s, a / 4])
    np.testing.assert_array_equal(hs.hash_keys([rec["k"], rec["s"], rec["f"]]), h)
    np.testing.assert_array_equal(hs.hash_keys((rec["k"][::-3], rec["s"][::-3], rec["f"][::-3])), h[::-3])
    assert not np.array_equal(hs.hash_keys([s, a]), hs.hash_keys([a, s]))  # column order matters
    assert len(set(h.tolist())) == len(set(zip(a.tolist(), s.tolist())))


@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50), st.sampled_from(["i4", "i8", "f8"]))
def test_equal_keys_equal_hashes(values: list[int], dtype: str) -> None:
    a = np.array(values, dtype=dtype)
    h = hs.hash_keys(a)
    for i in range(len(a)):
        for j in range(len(a)):
            assert (h[i] == h[j]) == (a[i] == a[j])
    if dtype != "f8":
        np.testing.assert_array_equal(h, hs.hash_keys(a.astype("i8")))


# --- partition_of -----------------------------------------------------------------------------

def _chi2(parts: np.ndarray, npartitions: int) -> float:
    counts = np.bincount(parts, minlength=npartitions)
    expected = len(parts) / npartitions
    return float(((counts - expected) ** 2).sum() / expected)


@pytest.mark.parametrize("npartitions", [2, 16, 7, 1000])
@pytest.mark.parametrize("keys", ["consecutive", "strided 2**32", "strings", "pairs"])
def test_partitions_even(keys: str, npartitions: int) -> None:
    """Chi-square of the partition counts: its mean is npartitions - 1 and its standard deviation
    sqrt(2 (npartitions - 1)) for a uniform hash; an identity or low-bit hash fails at once."""
    n = 200_000
    columns = {"consecutive": np.arange(n),
               "strided 2**32": np.arange(n, dtype=np.int64) << 32,
               "strings": np.array([f"user{i:07d}" for i in range(n)]),
               "pairs": [np.arange(n) // 400, np.arange(n) % 400]}[keys]
    parts = hs.partition_of(hs.hash_keys(columns), npartitions)
    assert parts.dtype == np.int32 and parts.min() >= 0 and parts.max() < npartitions
    df = npartitions - 1
    assert _chi2(parts, npartitions) < df + 6 * np.sqrt(2 * df) + 10
    # the low bits, which index the hash tables, are spread too
    low = (hs.hash_keys(columns) & np.uint64(1023)).astype(np.int64)
    assert _chi2(low, 1024) < 1023 + 6 * np.sqrt(2 * 1023)


def test_partition_of_is_fastrange() -> None:
    h = np.array([0, 1, 2**63, 2**64 - 1, 12345678901234567890], np.uint64)
    for n in (1, 3, 16, 2**31 - 1):
        assert hs.partition_of(h, n).tolist() == [(int(x) * n) >> 64 for x in h]
    assert hs.partition_of(np.zeros(0, np.uint64), 4).shape == (0,)


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 1025, 5000])
def test_partition_keys_is_partition_of_hash_keys(n: int) -> None:
    a = RNG.integers(-5, 5, n).astype(np.int16)
    s = _strings(n, 12)
    for columns in (a, s, [a, s, a * 0.5], [s[::-1], a[::-1]]):
        for npartitions in (1, 16, 1000):
            np.testing.assert_array_equal(hs.partition_keys(columns, npartitions),
                                          hs.partition_of(hs.hash_keys(columns), npartitions))


# --- scatter ----------------------------------------------------------------------------------

def _rows(kind: str, n: int) -> np.ndarray:
    if kind == "int64":
        return RNG.integers(-(2**62), 2**62, n)
    if kind == "float32":
        return RNG.standard_normal(n).astype(np.float32)
    if kind == "structured":
        r = np.zeros(n, [("k", "i8"), ("v", "f8"), ("s", "U3"), ("b", "?")])
        r["k"], r["v"], r["s"] = np.arange(n), RNG.standard_normal(n), _strings(n, 3)
        r["b"] = np.arange(n) % 3 == 0
        return r
    if kind == "pair16":
        r = np.zeros(n, [("k", "i8"), ("v", "f8")])
        r["k"], r["v"] = np.arange(n), -np.arange(n)
        return r
    if kind == "U5":
        return _strings(n, 5)
    if kind == "2-D":
        return RNG.standard_normal((n, 3))
    if kind == "int8":
        return RNG.integers(-128, 128, n, dtype=np.int8)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["int64", "float32", "structured", "pair16", "U5", "2-D", "int8"])
@pytest.mark.parametrize("n, npartitions", [(1000, 16), (0, 4), (500, 1), (5, 40), (3000, 3)])
@pytest.mark.parametrize("tdtype", ["i4", "i8", "u1"])
def test_scatter_matches_stable_argsort(kind: str, n: int, npartitions: int, tdtype: str) -> None:
    targets = RNG.integers(0, min(npartitions, 256), n).astype(tdtype)
    _check_scatter(_rows(kind, n), targets, npartitions)


def test_scatter_buckets_are_views_and_input_untouched() -> None:
    rows = _rows("structured", 100)
    before = rows.copy()
    targets = hs.partition_of(hs.hash_keys(rows["k"]), 8)
    out, offsets = hs.scatter(rows, targets, 8)
    assert rows.tobytes() == before.tobytes()
    for k in range(8):
        bucket = out[offsets[k]:offsets[k + 1]]
        assert bucket.base is out or bucket.base is out.base
        assert (targets[bucket["k"]] == k).all()
    _check_scatter(rows[::-2], targets[::2], 8)  # non-contiguous input is copied first


@given(st.integers(0, 300), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_scatter_random(n: int, npartitions: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, npartitions, n)
    rows = np.zeros(n, [("k", "i8"), ("v", "f8"), ("w", "i2")])
    rows["k"], rows["v"], rows["w"] = np.arange(n), rng.standard_normal(n), rng.integers(-9, 9, n)
    _check_scatter(rows, targets, npartitions)
    _check_scatter(rows["k"], targets.astype(np.int32), npartitions)


# --- factorize --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", INTS + ["?", "f4", "f8", "M8[s]", "m8[ns]", "S4", "U4"])
def test_factorize_each_key_type(dtype: str) -> None:
    codes = RNG.integers(0, 60, 5000)
    if dtype[0] == "f":
        values = np.where(codes % 7 == 0, np.nan, (codes - 30) * 1.5).astype(dtype)
        values[codes == 1] = -0.0
        values[codes == 2] = 0.0
    elif dtype[0] in "Mm":
        values = np.where(codes % 7 == 0, np.array("NaT", dtype), (codes - 30).astype(dtype))
    elif dtype[0] in "SU":
        values = np.array([f"k{c}"[: c % 5] for c in codes], dtype)
    else:
        values = (codes - (30 if np.dtype(dtype).kind == "i" else 0)).astype(dtype)
    _check_factorize([values])


def test_factorize_nan_payloads_and_zero_signs() -> None:
    values = np.concatenate([NANS, [0.0, -0.0, 1.0], NANS[::-1], [-0.0]])
    ids, n_groups, first = hs.factorize(values)
    assert ids.tolist() == [0] * 5 + [1, 1, 2] + [0] * 5 + [1] and n_groups == 3
    assert first.tolist() == [0, 5, 7]
    ids, n_groups, _ = hs.factorize([values, np.zeros(len(values), np.int8)])
    assert ids.tolist() == [0] * 5 + [1, 1, 2] + [0] * 5 + [1] and n_groups == 3


def test_factorize_multi_column() -> None:
    n = 20_000
    a = RNG.integers(0, 20, n).astype(np.int32)
    f = np.where(RNG.random(n) < 0.1, np.nan, RNG.integers(-3, 3, n) * 0.5)
    s = np.array([f"s{i}" for i in RNG.integers(0, 10, n)], "S3")
    t = RNG.integers(0, 5, n).astype("M8[D]")
    _check_factorize([a, f, s, t])
    _check_factorize([s, a])
    rec = np.zeros(n, [("a", "i4"), ("f", "f8"), ("s", "S3")])
    rec["a"], rec["f"], rec["s"] = a, f, s
    np.testing.assert_array_equal(hs.factorize([rec["a"], rec["f"], rec["s"]])[0], hs.factorize([a, f, s])[0])


def test_factorize_many_groups_and_shared_low_bits() -> None:
    keys = RNG.integers(-(2**63), 2**63 - 1, 150_000)  # the table grows many times
    keys = np.concatenate([keys, keys[::-2]])
    _check_factorize([keys])
    for shift in (20, 32, 52, 63):
        _check_factorize([np.arange(4000, dtype=np.uint64) << np.uint64(shift)])
        _check_factorize([np.arange(4000, dtype=np.int64) << (shift % 48), np.zeros(4000, np.int8)])


@pytest.mark.parametrize("dtype", ["i8", "U5", "f8"])
def test_factorize_resolves_full_hash_collisions(dtype: str) -> None:
    """Rows (v, h(v0) ^ h(v)) all share the whole 64-bit hash of (v0, 0), as the hash of a row
    folds each column in with mix(h ^ word): factorize must still tell them apart by value."""
    vals = np.arange(2000).astype(dtype)
    again = vals.copy()
    if dtype == "f8":  # equal keys with other bits: one group each
        vals[0], vals[1], again[0], again[1] = np.nan, 0.0, NANS[2], -0.0
    b = hs.hash_keys(vals[:1].repeat(2000)) ^ hs.hash_keys(vals)
    a, b = np.concatenate([vals, again]), np.concatenate([b, b])
    assert len(set(hs.hash_keys([a, b]).tolist())) == 1  # the precondition: every row collides
    ids, n_groups, first = hs.factorize([a, b])
    assert n_groups == 2000 and ids.tolist() == list(range(2000)) * 2 and first.tolist() == list(range(2000))


_FLOATS = st.sampled_from([np.nan, -0.0, 0.0, 1.5, -2.0, 1e300, np.inf, *NANS.tolist()])


@given(st.lists(st.tuples(_FLOATS, st.integers(-3, 3), st.sampled_from(["", "a", "ab", "b\x00c"])),
                max_size=200))
def test_factorize_random_keys(rows: list) -> None:
    f = np.array([r[0] for r in rows], np.float64)
    i = np.array([r[1] for r in rows], np.int16)
    s = np.array([r[2] for r in rows], "U3")
    _check_factorize([f])
    _check_factorize([i])
    _check_factorize([s])
    _check_factorize([f, i, s])


def test_factorize_empty() -> None:
    ids, n_groups, first = hs.factorize([np.zeros(0), np.zeros(0, "U2")])
    assert ids.shape == (0,) and n_groups == 0 and first.shape == (0,)
    assert hs.hash_keys(np.zeros(0, np.int8)).shape == (0,)


# --- group accumulators -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["f8", "f4", "i8", "i2", "?"])
def test_group_accumulators_match_pandas(dtype: str) -> None:
    n = 5000
    ids, n_groups, _ = hs.factorize(RNG.integers(0, 50, n))
    values = RNG.integers(-100, 100, n).astype(dtype)
    if dtype[0] == "f":
        values[RNG.random(n) < 0.2] = np.nan
        values[ids == 3] = np.nan  # a group without values
    g = pd.Series(values.astype("f8" if dtype[0] == "f" else "i8")).groupby(ids)
    np.testing.assert_allclose(hs.group_sum(values, ids, n_groups), g.sum().to_numpy())
    np.testing.assert_array_equal(hs.group_count(values, ids, n_groups), g.count().to_numpy())
    np.testing.assert_array_equal(hs.group_min(values, ids, n_groups), g.min().to_numpy())
    np.testing.assert_array_equal(hs.group_max(values, ids, n_groups), g.max().to_numpy())


def test_group_accumulators_edge_cases() -> None:
    assert hs.group_sum(np.zeros(0), np.zeros(0, np.int64), 3).tolist() == [0, 0, 0]
    assert np.isnan(hs.group_max(np.array([1.0]), np.array([0]), 2)[1])
    with pytest.raises(ValueError, match="no values"):
        hs.group_min(np.array([1, 2]), np.array([0, 0]), 2)
    with pytest.raises(ValueError, match="outside"):
        hs.group_sum(np.array([1.0, 2.0]), np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="outside"):
        hs.group_count(np.array([1.0]), np.array([-1]), 2)
    with pytest.raises(ValueError, match="group ids for"):
        hs.group_sum(np.array([1.0, 2.0]), np.array([0]), 2)
    with pytest.raises(TypeError):
        hs.group_sum(np.array([1], np.uint64), np.array([0]), 1)
    with pytest.raises(TypeError):
        hs.group_sum(np.array(["a"]), np.array([0]), 1)


# --- threads ----------------------------------------------------------------------------------

def test_concurrent_calls_are_correct() -> None:
    """Four threads scatter and factorize different data at once (the kernels drop the GIL)."""
    jobs = []
    for t in range(4):
        rng = np.random.default_rng(t)
        rows = np.zeros(300_000, [("k", "i8"), ("v", "f8")])
        rows["k"] = rng.integers(0, 10_000 * (t + 1), len(rows))
        targets = hs.partition_of(hs.hash_keys(rows["k"]), 16)
        jobs.append((rows, targets, hs.scatter(rows, targets, 16), hs.factorize(rows["k"])))
    errors: list[BaseException] = []

    def work(rows, targets, scattered, factorized) -> None:
        try:
            for _ in range(3):
                out, offsets = hs.scatter(rows, targets, 16)
                assert out.tobytes() == scattered[0].tobytes()
                assert np.array_equal(offsets, scattered[1])
                ids, n_groups, first = hs.factorize([rows["k"]])
                assert np.array_equal(ids, factorized[0]) and n_groups == factorized[1]
                assert np.array_equal(first, factorized[2])
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    np.testing.assert_array_equal(jobs[0][3][0], pd.factorize(jobs[0][0]["k"])[0])


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("columns, error, match", [
    (np.array(["a", None], dtype=object), TypeError, "dtype object"),
    (np.zeros(3, [("a", "i4")]), TypeError, "keys must be"),
    (np.zeros(3, np.complex128), TypeError, "keys must be"),
    (np.zeros(3, np.longdouble), TypeError, "keys must be"),
    ([np.zeros(3), np.zeros(4)], ValueError, "different lengths"),
    (np.zeros((3, 2)), ValueError, "1-D"),
    ([], ValueError, "at least one"),
    ([3, 4], ValueError, "1-D"),
])
def test_bad_keys(columns, error, match) -> None:
    for fn in (hs.hash_keys, hs.factorize, lambda c: hs.partition_keys(c, 4)):
        with pytest.raises(error, match=match):
            fn(columns)


def test_bad_partition_and_scatter_arguments() -> None:
    h = hs.hash_keys(np.arange(5))
    for n in (0, -1, 2**31):
        with pytest.raises(ValueError, match="npartitions"):
            hs.partition_of(h, n)
        with pytest.raises(ValueError, match="npartitions"):
            hs.partition_keys(np.arange(5), n)
    with pytest.raises(TypeError, match="uint64"):
        hs.partition_of(h.astype(np.float64), 4)
    with pytest.raises(TypeError):
        hs.partition_of(h, 2.5)
    rows = np.arange(5.0)
    with pytest.raises(ValueError, match="outside"):
        hs.scatter(rows, [0, 1, 4, 0, 0], 4)
    with pytest.raises(ValueError, match="outside"):
        hs.scatter(rows, [0, 1, -1, 0, 0], 4)
    with pytest.raises(ValueError, match="outside"):
        hs.scatter(rows, np.array([0, 2**64 - 1, 0, 0, 0], np.uint64), 4)
    with pytest.raises(ValueError, match="targets for"):
        hs.scatter(rows, [0, 1], 4)
    with pytest.raises(ValueError, match="npartitions"):
        hs.scatter(rows, np.zeros(5, np.int64), 0)
    with pytest.raises(TypeError, match="integers"):
        hs.scatter(rows, np.zeros(5), 4)
    with pytest.raises(TypeError, match="objects"):
        hs.scatter(np.array(["a", 1], dtype=object), [0, 0], 1)
    with pytest.raises(TypeError, match="objects"):
        hs.scatter(np.zeros(2, [("a", "i4"), ("o", "O")]), [0, 0], 1)
    with pytest.raises(TypeError, match="dimension"):
        hs.scatter(np.float64(1.0), [0], 1)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint64, np.float32, np.float64])
@pytest.mark.parametrize("ncuts", [0, 1, 2, 5, 16, 17, 40])
def test_range_kernel_counts_cuts_as_searchsorted(dtype, ncuts):
    from rdarray._core.ranges import count_below

    rng = np.random.default_rng(ncuts)
    keys = rng.integers(0, 60, 3000).astype(dtype)
    cuts = np.sort(rng.integers(0, 60, ncuts).astype(dtype))
    if np.dtype(dtype).kind == "f":
        keys[::11] = np.nan  # NaN orders last, as in NumPy's sort
        if ncuts > 2:
            cuts[-1] = np.nan
    np.testing.assert_array_equal(count_below(cuts, keys), np.searchsorted(cuts, keys, side="left"))
    np.testing.assert_array_equal(count_below(cuts, keys[::3]), np.searchsorted(cuts, keys[::3], side="left"))
    tied = np.empty(len(keys), np.uint8)
    below = count_below(cuts, keys, tied)
    if ncuts:
        stop = cuts[np.minimum(below, ncuts - 1)]
        expected = (stop == keys) | (np.isnan(stop) & np.isnan(keys) if np.dtype(dtype).kind == "f" else False)
        np.testing.assert_array_equal(tied.astype(bool), expected)
    else:
        assert not tied.any()


@given(st.lists(st.integers(0, 5), max_size=30), st.lists(st.integers(0, 5), max_size=30),
       st.sampled_from(["inner", "left", "right", "outer"]))
def test_join_pairs_match_a_nested_loop(left, right, how):
    """Every (left row, right row) pair with equal ids, in left order then right order; unmatched
    rows of a kept side paired with -1 (left ones in place, right ones at the end by group)."""
    expected = []
    for i, g in enumerate(left):
        matches = [(i, j) for j, h in enumerate(right) if h == g]
        expected += matches or ([(i, -1)] if how in ("left", "outer") else [])
    if how in ("right", "outer"):
        expected += [(-1, j) for h, j in sorted((h, j) for j, h in enumerate(right) if h not in left)]
    lrows, rrows = hs.join_pairs(np.array(left, np.int64), np.array(right, np.int64), 6, how)
    assert list(zip(lrows.tolist(), rrows.tolist())) == expected
    groups = hs.group_rows(np.array(right, np.int64), 6)
    again = hs.join_pairs(np.array(left, np.int64), None, 6, how, right_groups=groups)
    assert [a.tolist() for a in again] == [lrows.tolist(), rrows.tolist()]


def test_join_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="outside"):
        hs.join_pairs(np.array([0, 7], np.int64), np.array([0], np.int64), 3, "inner")
    with pytest.raises(ValueError, match="how must be"):
        hs.join_pairs(np.array([0], np.int64), np.array([0], np.int64), 1, "sideways")
    with pytest.raises(ValueError, match="start must rise"):
        hs._k.join_pairs(np.array([0], np.int64), np.array([0, 5], np.int64), np.array([0], np.int64), 0)
