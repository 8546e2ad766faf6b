"""Products on tall arrays (``x.T @ y``, ``w @ x``, ``np.dot``, ``np.cov``, ``np.corrcoef``) and
``rd.linalg`` (tall-skinny QR, SVD, least squares, norms) against NumPy, on every backend, with
empty and one-row partitions and partitions shorter than the number of columns."""
from __future__ import annotations

import numpy as np
import pytest

import rdarray as rd
from _helpers import BACKENDS, partitioned

N, K = 120, 5
LAYOUTS = [[N], [0, 1, 0, 50, 1, 68, 0], [1] * 20 + [2, 3, 0, 4] + [91], [3] * 40]


def _data(n=N, k=K, seed=0):
    return np.random.default_rng(seed).normal(size=(n, k))


def _ill_conditioned(n: int, k: int, cond: float, seed: int = 0) -> np.ndarray:
    """An n × k array whose singular values run from 1 to 1/cond."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.normal(size=(n, k)))[0]
    v = np.linalg.qr(rng.normal(size=(k, k)))[0]
    return (u * np.logspace(0, -np.log10(cond), k)) @ v.T


def _close(got, expected, rtol=1e-12, atol=0.0):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


# -- products -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", LAYOUTS, ids=str)
def test_products_against_numpy(ctx, lengths):
    a = _data()
    b = _data(k=3, seed=1)
    x = partitioned(a, lengths)
    y = rd.from_numpy(b, npartitions=3)  # other boundaries: realigned
    atol = 1e-12 * N
    _close((x.T @ x).compute(), a.T @ a, atol=atol)
    _close((x.T @ y).compute(), a.T @ b, atol=atol)
    _close((x.T @ b).compute(), a.T @ b, atol=atol)
    _close((x.T @ b[:, 0]).compute(), a.T @ b[:, 0], atol=atol)
    _close(np.dot(x.T, y).compute(), a.T @ b, atol=atol)
    _close(np.matmul(x.T, y).compute(), a.T @ b, atol=atol)
    _close((b.T @ x).compute(), b.T @ a, atol=atol)
    _close(np.dot(b[:, 0], x).compute(), b[:, 0] @ a, atol=atol)
    _close((x[:, 0] @ y[:, 1]).compute(), a[:, 0] @ b[:, 1], atol=atol)
    _close(np.dot(x[:, 0], b[:, 1]).compute(), np.dot(a[:, 0], b[:, 1]), atol=atol)
    w = np.arange(K * 2.0).reshape(K, 2)
    _close((x @ w).compute(), a @ w)
    _close(np.dot(x, w[:, 0]).compute(), np.dot(a, w[:, 0]))
    _close(np.matmul(x, w).compute(), a @ w)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.complex128])
def test_product_dtypes(dtype):
    a = (_data() * 10).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * a[::-1]
    x = partitioned(a, LAYOUTS[1])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    _close((x.T @ x).compute(), a.T @ a, rtol=rtol, atol=rtol * 100)


def test_product_is_one_pass_and_lazy():
    x = rd.from_numpy(_data(), npartitions=4)
    g = x.T @ x
    assert isinstance(g, rd.Lazy)
    assert x.T.shape == (K, N) and x.T.T is x
    assert "gram" in g.explain()


def test_product_errors_say_what_is_supported():
    a = _data()
    x = rd.from_numpy(a, npartitions=3)
    with pytest.raises(TypeError, match=r"x.T @ y"):
        x @ x
    with pytest.raises(TypeError, match=r"x.T @ y"):
        np.matmul(x, x)
    with pytest.raises(TypeError, match="n × n"):
        x @ x.T
    with pytest.raises(TypeError, match="x.T"):
        x.T + 1
    with pytest.raises(TypeError, match="x.T"):
        np.asarray(x.T)
    with pytest.raises(TypeError, match="x.T"):
        np.sum(x.T)
    with pytest.raises(ValueError, match="rows"):
        x.T @ np.ones((N + 1, 2))
    with pytest.raises(ValueError, match="lengths differ"):
        x.T @ rd.from_numpy(np.ones((N + 1, 2)))
    with pytest.raises(ValueError, match="matmul"):
        x @ np.ones((K + 1, 2))
    assert rd.arange(3).T is not None


# -- covariance and correlation -------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", LAYOUTS, ids=str)
def test_cov_corrcoef_against_numpy(ctx, lengths):
    a = _data() * [1, 10, 100, 1e-3, 1] + [1e6, 0, -5, 0, 3]  # far from zero: one-pass sums would cancel
    x = partitioned(a, lengths)
    _close(np.cov(x, rowvar=False).compute(), np.cov(a, rowvar=False), rtol=1e-10)
    _close(np.cov(x, rowvar=False, ddof=0).compute(), np.cov(a, rowvar=False, ddof=0), rtol=1e-10)
    _close(np.cov(x, rowvar=False, bias=True).compute(), np.cov(a, rowvar=False, bias=True), rtol=1e-10)
    _close(np.corrcoef(x, rowvar=False).compute(), np.corrcoef(a, rowvar=False), rtol=1e-10, atol=1e-12)
    _close(np.cov(x[:, 0]).compute(), np.cov(a[:, 0]), rtol=1e-10)
    _close(np.cov(x[:, 0], x[:, 1]).compute(), np.cov(a[:, 0], a[:, 1]), rtol=1e-10)
    _close(np.cov(x, a[:, :2], rowvar=False).compute(), np.cov(a, a[:, :2], rowvar=False), rtol=1e-10)
    _close(np.corrcoef(x[:, 1]).compute(), np.corrcoef(a[:, 1]))


def test_cov_nan_and_float32():
    a = _data()
    a[7, 2] = np.nan
    x = partitioned(a, LAYOUTS[1])
    _close(np.cov(x, rowvar=False).compute(), np.cov(a, rowvar=False), rtol=1e-10)
    f = a.astype(np.float32)
    _close(np.cov(partitioned(f, LAYOUTS[1]), rowvar=False).compute(), np.cov(f, rowvar=False), rtol=1e-10)
    with pytest.raises(ValueError, match="rowvar=False"):
        np.cov(x)
    with pytest.raises(TypeError, match="weights"):
        np.cov(x, rowvar=False, fweights=np.ones(N))


# -- tall-skinny QR and SVD -----------------------------------------------------------------------

QR_LAYOUTS = [[400], [0, 1, 2, 0, 97, 3, 1, 296], [40] * 10, [1] * 30 + [370]]


def _signed_r(r):
    return np.sign(np.diag(r))[:, None] * r


@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("lengths", QR_LAYOUTS, ids=lambda ls: f"{len(ls)} partitions")
@pytest.mark.parametrize("cond", [1.0, 1e4, 1e8])
def test_qr_against_numpy(ctx, lengths, cond):
    a = _ill_conditioned(400, 8, cond) * 1e3
    x = partitioned(a, lengths)
    q_lazy, r_lazy = rd.linalg.qr(x)
    assert isinstance(q_lazy, rd.PartitionedArray) and q_lazy.shape == (400, 8)
    q, r = rd.compute(q_lazy, r_lazy)
    scale = np.linalg.norm(a)
    np.testing.assert_allclose(q @ r, a, atol=1e-13 * scale)
    np.testing.assert_allclose(q.T @ q, np.eye(8), atol=1e-13)
    assert np.all(np.diag(r) >= 0) and np.array_equal(r, np.triu(r))
    expected = _signed_r(np.linalg.qr(a)[1])
    np.testing.assert_allclose(r, expected, atol=1e-14 * cond * scale)
    np.testing.assert_allclose(rd.linalg.qr(x, mode="r").compute(), r, atol=1e-14 * scale)


def test_qr_dispatch_dtypes_and_errors():
    a = _ill_conditioned(300, 4, 10.0)
    x = partitioned(a, [100, 0, 200])
    q, r = np.linalg.qr(x)
    np.testing.assert_allclose(q.compute() @ r.compute(), a, atol=1e-13)
    f = partitioned(a.astype(np.float32), [100, 0, 200])
    q32, r32 = rd.compute(*rd.linalg.qr(f))
    assert q32.dtype == r32.dtype == np.float32
    np.testing.assert_allclose(q32 @ r32, a, atol=1e-5)
    q_int, r_int = rd.compute(*rd.linalg.qr(partitioned(np.arange(12).reshape(6, 2), [2, 4])))
    assert q_int.dtype == np.float64
    with pytest.raises(ValueError, match="at least as many rows"):
        rd.linalg.qr(rd.from_numpy(np.ones((3, 5))))
    with pytest.raises(ValueError, match="mode"):
        rd.linalg.qr(x, mode="complete")
    with pytest.raises(ValueError, match="2-D"):
        rd.linalg.qr(rd.arange(10.0))


@pytest.mark.parametrize("ctx", BACKENDS[:3], indirect=True)
@pytest.mark.parametrize("cond", [1.0, 1e8])
def test_svd_against_numpy(ctx, cond):
    a = _ill_conditioned(400, 8, cond, seed=3)
    x = partitioned(a, QR_LAYOUTS[1])
    u, s, vh = rd.compute(*np.linalg.svd(x, full_matrices=False))
    expected = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(s, expected, rtol=0, atol=1e-14 * expected[0])
    np.testing.assert_allclose((u * s) @ vh, a, atol=1e-14 * 400)
    np.testing.assert_allclose(u.T @ u, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(vh @ vh.T, np.eye(8), atol=1e-13)
    np.testing.assert_allclose(rd.linalg.svd(x, compute_uv=False).compute(), s, rtol=1e-14)
    with pytest.raises(ValueError, match="full_matrices"):
        rd.linalg.svd(x, full_matrices=True)  # U would be n × n


# -- least squares ----------------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS, indirect=True)
@pytest.mark.parametrize("cond", [1.0, 1e4, 1e8])
def test_lstsq_against_numpy(ctx, cond):
    rng = np.random.default_rng(5)
    a = _ill_conditioned(400, 6, cond, seed=5)
    b = a @ rng.normal(size=6) + 1e-3 * rng.normal(size=400)
    x = partitioned(a, QR_LAYOUTS[1])
    got = rd.compute(*rd.linalg.lstsq(x, b))
    sol, res, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    # forward error of a least-squares solution: about eps * cond (+ eps * cond^2 * residual)
    np.testing.assert_allclose(got[0], sol, rtol=0, atol=1e-13 * cond + 1e-14 * cond**2 * np.sqrt(res[0]))
    _close(got[1], res, rtol=1e-7)
    assert int(got[2]) == rank
    np.testing.assert_allclose(got[3], sv, atol=1e-14 * sv[0])
    y = rd.from_numpy(np.column_stack([b, 2 * b]), npartitions=3)
    sols, ress, _, _ = rd.compute(*np.linalg.lstsq(x, y, rcond=None))
    assert sols.shape == (6, 2) and ress.shape == (2,)
    np.testing.assert_allclose(sols[:, 1], 2 * sols[:, 0], rtol=1e-9, atol=1e-12)


def test_lstsq_rank_deficient_and_square():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(200, 4))
    a = np.column_stack([a, a[:, 0] + a[:, 1]])  # rank 4
    b = rng.normal(size=200)
    got = rd.compute(*rd.linalg.lstsq(partitioned(a, [0, 50, 1, 149]), b))
    sol, res, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(got[0], sol, atol=1e-12)
    assert int(got[2]) == rank == 4 and got[1].shape == res.shape == (0,)
    square = rng.normal(size=(5, 5))
    got = rd.compute(*rd.linalg.lstsq(partitioned(square, [2, 3]), b[:5]))
    expected = np.linalg.lstsq(square, b[:5], rcond=None)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-9)
    assert got[1].shape == expected[1].shape == (0,)


# -- norms ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ctx", BACKENDS[:3], indirect=True)
def test_norm_against_numpy(ctx):
    a = _data()
    a[3, 1] = -40.0
    x = partitioned(a, LAYOUTS[1])
    for ord in [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]:
        _close(np.linalg.norm(x, ord).compute(), np.linalg.norm(a, ord), rtol=1e-12)
        _close(np.linalg.norm(x, ord, keepdims=True).compute(), np.linalg.norm(a, ord, keepdims=True), rtol=1e-12)
    for ord in [None, 1, 2, 3, 0, np.inf, -np.inf, -1]:
        _close(np.linalg.norm(x, ord, axis=0).compute(), np.linalg.norm(a, ord, axis=0), rtol=1e-12)
        _close(np.linalg.norm(x[:, 2], ord).compute(), np.linalg.norm(a[:, 2], ord), rtol=1e-12)
    _close(np.linalg.norm(x, axis=1).compute(), np.linalg.norm(a, axis=1), rtol=1e-12)
    _close(np.linalg.norm(x, axis=0, keepdims=True).compute(), np.linalg.norm(a, axis=0, keepdims=True))
    ints = np.arange(-20, 20).reshape(20, 2)
    _close(rd.linalg.norm(partitioned(ints, [0, 7, 13])).compute(), np.linalg.norm(ints))
    with pytest.raises(ValueError, match="order"):
        np.linalg.norm(x, "bad")
    with pytest.raises(ValueError, match="out of bounds"):
        np.linalg.norm(x[:, 0], axis=1)


@pytest.mark.parametrize("ctx", BACKENDS[:3], indirect=True)
def test_qr_in_chunks_within_partitions(ctx, monkeypatch):
    """Partitions factored in several row chunks (short chunks at partition ends included)."""
    import rdarray.array.linalg as linalg

    monkeypatch.setattr(linalg, "_LEAF_VALUES", 60)  # chunks of 2k = 12 rows
    a = _ill_conditioned(300, 6, 1e6, seed=4)
    b = np.random.default_rng(4).normal(size=300)
    x = partitioned(a, [0, 100, 7, 13, 0, 180])
    q, r, s = rd.compute(*rd.linalg.qr(x), rd.linalg.svd(x, compute_uv=False))
    np.testing.assert_allclose(q @ r, a, atol=1e-13 * np.linalg.norm(a))
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-13)
    np.testing.assert_allclose(r, _signed_r(np.linalg.qr(a)[1]), atol=1e-14 * 1e6)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-15)
    got = rd.compute(*rd.linalg.lstsq(x, b))
    expected = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-7)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-9)


@pytest.mark.parametrize("ctx", BACKENDS[:3], indirect=True)
def test_products_in_chunks_within_partitions(ctx, monkeypatch):
    """Partitions multiplied in several row chunks (short chunks at partition ends included)."""
    import rdarray.array.products as products

    monkeypatch.setattr(products, "_PRODUCT_ROWS", 7)
    a = _data() * [1, 10, 100, 1e-3, 1] + [1e6, 0, -5, 0, 3]
    x = partitioned(a, LAYOUTS[1])
    _close((x.T @ x).compute(), a.T @ a, rtol=1e-12, atol=1e-12 * N)
    _close((x.T @ a[:, :2]).compute(), a.T @ a[:, :2], rtol=1e-12, atol=1e-12 * N)
    _close(np.cov(x, rowvar=False).compute(), np.cov(a, rowvar=False), rtol=1e-10)
    _close(np.cov(x[:0], rowvar=False).compute(), np.full((K, K), np.nan))
