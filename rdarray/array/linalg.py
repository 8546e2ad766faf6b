"""``rd.linalg`` on tall arrays: tall-skinny QR, SVD, least squares and norms.

Tall-skinny QR (Demmel et al., "Communication-optimal parallel and sequential QR"): each row
chunk ``c`` of a partition (sized to stay in the cache) is factored ``x_c = Q_c R_c``; two R
factors stacked are factored again, ``[R_a; R_b] = Q_ab R``, pairwise in a tree (within the
partition, then across partitions) up to one R (k × k). The Q of the whole is ``Q_c`` times the
product of the small Q factors on the path from ``c`` to the root. The value keeps one k × k
factor per partition (the path from the partition's R to the root); Q is a narrow pass that
factors the partition's chunks again (the same LAPACK calls on the same rows give the same tree),
walks its tree down from that factor and multiplies each chunk's Q by its own. R's diagonal is
made non-negative (rows of R and columns of Q flipped together): the factorization is then unique
for a full-rank x, whatever the partitioning.
"""

from __future__ import annotations

import numpy as np

from ..errors import check_integer
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..graph.partials import EMPTY, tree_combine
from .lazy import Lazy
from .products import aligned_operand, as_columns, pair_node, single_threaded

# -- tall-skinny QR -------------------------------------------------------------------------------

def _qr_dtype(dtype: np.dtype) -> np.dtype:
    r: np.ndarray = np.linalg.qr(np.zeros((1, 1), dtype), mode="r")  # type: ignore[assignment]
    return r.dtype


def _check_tall(x, what: str):
    if x.ndim != 2 or x.dtype.names or x.dtype.kind not in "biufc":
        raise ValueError(f"{what}: expected a 2-D numeric partitioned array, got {x.dtype} of shape {x.shape}")
    n, k = len(x), x.shape[1]
    if n < k:
        raise ValueError(f"{what}: a tall-skinny factorization needs at least as many rows as columns, got "
                         f"{n} × {k}; for a short array use np.linalg on x.compute()")
    return n, k


class _Leaf:
    """A leaf of a TSQR tree: the R factor of a row chunk (within a partition) or of a partition
    (across partitions), and its key."""

    __slots__ = ("r", "p")

    def __init__(self, p: int, r: np.ndarray):
        self.p, self.r = p, r


class _Merged:
    """Two subtrees' R factors stacked and factored: ``[R_a; R_b] = [Q_a; Q_b] R``."""

    __slots__ = ("r", "a", "b", "qa", "qb")

    def __init__(self, a, b):
        q, self.r = np.linalg.qr(np.concatenate([a.r, b.r]))
        self.a, self.b, self.qa, self.qb = a, b, q[:len(a.r)], q[len(a.r):]


def _transforms(tree, top: np.ndarray) -> dict[int, np.ndarray]:
    """Each leaf's factor ``T`` such that the tree's Q (times ``top``) is the leaf's Q times ``T``
    on the leaf's rows: the product of the small Q factors down the tree."""
    out: dict[int, np.ndarray] = {}
    stack = [(tree, top)]
    while stack:
        node, m = stack.pop()
        if isinstance(node, _Leaf):
            out[node.p] = m
        else:
            stack.append((node.a, node.qa @ m))
            stack.append((node.b, node.qb @ m))
    return out


def _tsqr_finish(tree):
    """The root's R (diagonal made non-negative) and each partition's factor ``T_p``."""
    r = tree.r
    signs = np.where(np.diag(r).real < 0, -1, 1).astype(r.dtype)
    return signs[:, None] * r, _transforms(tree, np.diag(signs))


#: values in one leaf of the TSQR tree: each partition is factored in row chunks that stay in the
#: cache (LAPACK's QR of a whole tall block sweeps all of it once per column)
_LEAF_VALUES = 1 << 15


def _chunk_rows(k: int) -> int:
    return max(2 * k, _LEAF_VALUES // max(k, 1))


def _partition_tree(block: np.ndarray, size: int, with_q: bool):
    """The TSQR tree of one partition's chunks of ``size`` rows (leaf ``j``: chunk ``j``), and the
    chunks' Q factors when ``with_q``. The same rows give the same tree: LAPACK's R of a chunk is
    the same whether or not its Q is formed, and the merges are the same calls in the same order."""
    leaves, qs = [], []
    for j, i in enumerate(range(0, len(block), size)):
        if with_q:
            q, r = np.linalg.qr(block[i:i + size])
            qs.append(q)
        else:
            r = np.linalg.qr(block[i:i + size], mode="r")  # type: ignore[assignment]
        leaves.append(_Leaf(j, r))
    return tree_combine(leaves, _Merged), qs


def _chunked_r(a: np.ndarray, size: int) -> np.ndarray:
    """The R factor of ``a``: its chunks of ``size`` rows factored, their R factors merged in a tree."""
    rs = [np.linalg.qr(a[i:i + size], mode="r") for i in range(0, len(a), size)]
    return tree_combine(rs, lambda r1, r2: np.linalg.qr(np.concatenate([r1, r2]), mode="r"))


def _tsqr(x, what: str) -> tuple[Lazy, int, np.dtype]:
    """The value ``(R, {p: T_p})`` of x's tall-skinny QR. Each partition's row chunks are merged
    in a tree (``_partition_tree``) to the partition's R; those are merged in a tree across
    partitions in the value node. Only a partition's R leaves its task."""
    n, k = _check_tall(x, what)
    dtype = _qr_dtype(x.dtype)
    size = _chunk_rows(k)  # fixed here: the Q pass must cut the same chunks, in whichever process

    def partition_r(p, block):
        if len(block) == 0:
            return EMPTY
        return _Leaf(p, _partition_tree(block.astype(dtype, copy=False), size, False)[0].r)

    partials = Node(f"{what}.R", single_threaded(partition_r), [OneToOne(x._node)], x.npartitions, VALUE, (),
                    None, pass_index=True, detail="per partition, in chunks")
    value = Node(what, lambda parts: _tsqr_finish(tree_combine(parts, _Merged)), [AllToOne(partials)], 1, VALUE,
                 (), None, detail="merge R factors in a tree")
    return Lazy(f"{what} of {x!r}", node=value), k, dtype


def _q_times(x, value: Lazy, what: str, width: int, dtype, pick):
    """The array whose partition ``p`` is its Q factor times ``pick(value)[p]``: the partition's
    chunk tree built again with the chunks' Q factors, each chunk's Q times its factor down the
    partition's tree from ``pick(value)[p]``."""
    from .core import PartitionedArray

    size = _chunk_rows(x.shape[1])

    def run(p, block, v):
        out = np.empty((len(block), width), dtype)
        top = pick(v).get(p)
        if top is None:  # an empty partition
            return out
        tree, qs = _partition_tree(block.astype(dtype, copy=False), size, True)
        for j, t in _transforms(tree, top).items():
            np.dot(qs[j], t, out=out[j * size:(j + 1) * size])  # np.dot: BLAS without the GIL
        return out

    node = x._node
    assert value.node is not None
    return PartitionedArray(Node(what, single_threaded(run), [OneToOne(node), Broadcast(value.node)],
                                 node.npartitions, dtype, (width,), node.partition_lengths, pass_index=True,
                                 align_key=node.align_key, detail="Q_p @ T_p"))


def qr(x, mode: str = "reduced"):
    """Tall-skinny QR of an (n, k) array with n ≥ k: ``x = Q @ R``.

    Each partition is factored, the R factors are merged in a tree (QR of two stacked R factors),
    and Q is computed lazily partition by partition. R's diagonal is non-negative (a convention
    that makes the factors unique for a full-rank x; NumPy's signs are LAPACK's).

    Parameters
    ----------
    x : PartitionedArray
        (n, k), n ≥ k.
    mode : {"reduced", "r"}
        Both factors, or R only (one pass over x).

    Returns
    -------
    (PartitionedArray, rd.Lazy) or rd.Lazy
        Q (n, k), orthonormal columns, and R (k, k), upper triangular; R alone for ``mode="r"``.

    Examples
    --------
    >>> q, r = rd.linalg.qr(x)
    >>> q_values, r_value = rd.compute(q, r)
    """
    if mode not in ("reduced", "r"):
        raise ValueError(f"qr: mode must be 'reduced' or 'r' for a partitioned array (Q is n × k), got {mode!r}")
    value, k, dtype = _tsqr(x, "qr")
    r = Lazy.apply("qr.R", lambda v: v[0], (value,))
    r.meta = np.zeros((k, k), dtype)
    if mode == "r":
        return r
    return _q_times(x, value, "qr.Q", k, dtype, lambda v: v[1]), r


def svd(x, full_matrices: bool = False, compute_uv: bool = True, hermitian: bool = False):
    """Thin SVD of an (n, k) array with n ≥ k, through the tall-skinny QR: ``R = U_r S V^H``, so
    ``x = (Q U_r) S V^H`` and U is computed lazily partition by partition as ``Q_p (T_p U_r)``.

    Parameters
    ----------
    x : PartitionedArray
        (n, k), n ≥ k.
    full_matrices : bool
        Must be False (U would be n × n).
    compute_uv : bool, default True
        Also U and V^H; else the singular values only (one pass over x).
    hermitian : bool
        Must be False.

    Returns
    -------
    (PartitionedArray, rd.Lazy, rd.Lazy) or rd.Lazy
        U (n, k), S (k,) in descending order, V^H (k, k); S alone without ``compute_uv``.
    """
    if full_matrices:
        raise ValueError("svd: full_matrices=True would make U n × n; pass full_matrices=False")
    if hermitian:
        raise ValueError("svd: hermitian=True is not supported for a tall partitioned array")
    value, k, dtype = _tsqr(x, "svd")
    real = np.zeros(0, dtype).real.dtype
    if not compute_uv:
        s = Lazy.apply("svd.S", lambda v: np.linalg.svd(v[0], compute_uv=False), (value,))
        s.meta = np.zeros(k, real)
        return s

    def factor(v):
        r, transforms = v
        u, s, vh = np.linalg.svd(r)
        return {p: t @ u for p, t in transforms.items()}, s, vh

    parts = Lazy.apply("svd", factor, (value,))
    s = Lazy.apply("svd.S", lambda v: v[1], (parts,))
    s.meta = np.zeros(k, real)
    vh = Lazy.apply("svd.Vh", lambda v: v[2], (parts,))
    vh.meta = np.zeros((k, k), dtype)
    return _q_times(x, parts, "svd.U", k, dtype, lambda v: v[0]), s, vh


def lstsq(a, b, rcond=None):
    """Least squares ``min ||a x - b||`` through the QR of ``[a | b]`` (one pass): its R is
    ``[[R, z], [0, S]]`` with ``z = Qᵀ b``, so ``x`` solves ``R x = z`` (through the SVD of R, for
    NumPy's minimum-norm answer when a is rank-deficient) and the squared residuals are the
    squared column norms of S.

    Parameters
    ----------
    a : PartitionedArray
        (n, k), n ≥ k.
    b : PartitionedArray or array_like
        (n,) or (n, m), aligned with a by rows.
    rcond : float, optional
        Singular values below ``rcond`` times the largest are taken as zero; by default machine
        epsilon times ``max(n, k)``, as NumPy's.

    Returns
    -------
    (rd.Lazy, rd.Lazy, rd.Lazy, rd.Lazy)
        The solution (k,) or (k, m); the squared residuals (m,) or (1,), empty unless a has full
        rank and n > k; the rank; a's singular values. ``rd.compute(*rd.linalg.lstsq(a, b))``
        computes them in one pass.
    """
    n, k = _check_tall(a, "lstsq")
    b = aligned_operand(a, b, "lstsq")
    m = 1 if b.ndim == 1 else b.shape[1]
    dtype = _qr_dtype(np.result_type(a.dtype, b.dtype))
    size = _chunk_rows(k + m)

    def partial(x_p, y_p):
        if len(x_p) == 0:
            return EMPTY
        return _chunked_r(np.column_stack([x_p, as_columns(y_p)]).astype(dtype, copy=False), size)

    def merge(r1, r2):
        return np.linalg.qr(np.concatenate([r1, r2]), mode="r")

    def finalize(r):
        full = np.zeros((k + m, k + m), dtype)
        full[:len(r)] = r
        rr, z, s_block = full[:k, :k], full[:k, k:], full[k:, k:]
        u, s, vh = np.linalg.svd(rr)
        cut = (np.finfo(s.dtype).eps * max(n, k) if rcond is None else rcond) * (s[0] if len(s) else 0)
        rank = int(np.count_nonzero(s > cut))
        x = vh[:rank].conj().T @ ((u[:, :rank].conj().T @ z) / s[:rank, None])
        if rank == k and n > k:
            residuals = (np.abs(s_block) ** 2).sum(axis=0)
        else:
            residuals = np.empty(0, s.dtype)
        return (x[:, 0] if b.ndim == 1 else x), residuals, np.int32(rank), s

    node = pair_node("lstsq", single_threaded(partial), a, b, combine=merge, detail="R of [a | b]")
    value = Lazy.reduced("lstsq", f"lstsq of {a!r}", node, merge, finalize)
    real = np.zeros(0, dtype).real.dtype
    metas = [np.zeros((k,) if b.ndim == 1 else (k, m), dtype), np.zeros(m, real), np.int32(0), np.zeros(k, real)]
    out = []
    for i, meta in enumerate(metas):
        item = Lazy.apply(f"lstsq[{i}]", lambda v, i=i: v[i], (value,))
        item.meta = np.asarray(meta)
        out.append(item)
    return tuple(out)


# -- norms ----------------------------------------------------------------------------------------

def _abs_squares(block):
    flat = block.reshape(-1)
    if flat.dtype.kind == "c":
        return np.vdot(flat, flat).real
    flat = flat.astype(np.result_type(flat.dtype, np.float64), copy=False)
    return np.dot(flat, flat)


def norm(x, ord=None, axis=None, keepdims=False):
    """``np.linalg.norm`` of a partitioned array: vector norms over all values or along an axis,
    matrix norms of a 2-D array (Frobenius, 1, -1, inf, -inf; 2, -2 and nuclear from the singular
    values of the tall-skinny QR's R).

    Parameters
    ----------
    x : PartitionedArray
        1-D or 2-D.
    ord : {None, "fro", "nuc", int, float, inf, -inf}
        As NumPy's.
    axis : None or int or (int, int)
        None: the whole array (a vector norm for 1-D, a matrix norm for 2-D); 0 (the column norms)
        or 1 (the row norms, a narrow pass).
    keepdims : bool, default False
        Keep the reduced axes, of length one.

    Returns
    -------
    rd.Lazy or PartitionedArray
        A lazy value, or an array of the row norms for ``axis=1``.
    """
    from .elementwise import map_blocks

    if x.ndim not in (1, 2) or x.dtype.names or x.dtype.kind not in "biufc":
        raise ValueError(f"norm: expected a 1-D or 2-D numeric array, got {x.dtype} of shape {x.shape}")
    real = np.result_type(x.dtype, np.float64) if x.dtype.kind in "biu" else np.zeros(0, x.dtype).real.dtype
    if axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        for a in axes:
            if check_integer(a, -x.ndim, f"norm: axis {a!r} is out of bounds for a {x.ndim}-D array") >= x.ndim:
                raise ValueError(f"norm: axis {a!r} is out of bounds for a {x.ndim}-D array")
        axis = tuple(int(a) % x.ndim for a in axes)
    kept = (1,) * x.ndim

    def finish(v):
        return np.asarray(v, real).reshape(kept if keepdims else ())

    if x.ndim == 2 and axis == (1,):
        return map_blocks(x, lambda b: np.linalg.norm(b, ord=ord, axis=1, keepdims=keepdims), "norm", "axis=1")
    if x.ndim == 1 or axis == (0,):
        if axis is None and ord in (None, 2):  # NumPy: sqrt(x . x)
            return Lazy.apply("norm", lambda v: finish(np.sqrt(v)), (_sum_of(x, _abs_squares),))
        return _vector_norm(x, ord, keepdims, real)
    if axis not in (None, (0, 1), (1, 0)):
        raise ValueError(f"norm: invalid axis {axis!r} for a {x.ndim}-D array")
    if ord in (None, "fro", "f"):
        return Lazy.apply("norm", lambda v: finish(np.sqrt(v)), (_sum_of(x, _abs_squares),))
    if ord in (2, -2, "nuc"):
        pick = {2: np.max, -2: np.min, "nuc": np.sum}[ord]
        return Lazy.apply("norm", lambda v: finish(pick(v)), (svd(x, compute_uv=False),))
    if ord in (1, -1):
        pick = np.max if ord == 1 else np.min
        return Lazy.apply("norm", lambda v: finish(pick(v)), (_vector_norm(x, 1, False, real),))
    if ord in (np.inf, -np.inf):
        rows = map_blocks(x, lambda b: np.abs(b).sum(axis=1).astype(real, copy=False), "norm", "row sums")
        return Lazy.apply("norm", finish, (rows.max() if ord == np.inf else rows.min(),))
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def _sum_of(x, partial) -> Lazy:
    from .reductions import partial_reduction

    return partial_reduction(x, "norm", partial, np.add, detail="sum of squares")


def _vector_norm(x, ord, keepdims: bool, real) -> Lazy:
    """Vector norms along axis 0 (per column of a 2-D array): NumPy's definitions."""
    from .reductions import partial_reduction

    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    ord = 2 if ord is None else ord
    kept = (1,) + x._node.trailing
    shape = kept if keepdims else x._node.trailing

    def done(v):
        return np.asarray(v, real).reshape(shape)

    if ord == np.inf or ord == -np.inf:
        absolute = np.abs(x.astype(real) if x.dtype.kind == "b" else x)
        reduced = absolute.max(axis=0) if ord == np.inf else absolute.min(axis=0)
        return Lazy.apply("norm", done, (reduced,))
    if ord == 0:
        return Lazy.apply("norm", done, ((x != 0).astype(real).sum(axis=0),))
    if ord == 1:
        partial = lambda b: np.abs(b).astype(real, copy=False).sum(axis=0)  # noqa: E731
        return Lazy.apply("norm", done, (partial_reduction(x, "norm", partial, np.add, detail="abs sums"),))
    if ord == 2:
        partial = lambda b: (np.abs(b).astype(real, copy=False) ** 2).sum(axis=0)  # noqa: E731
        sums = partial_reduction(x, "norm", partial, np.add, detail="sums of squares")
        return Lazy.apply("norm", lambda v: done(np.sqrt(v)), (sums,))
    p = float(ord)
    partial = lambda b: (np.abs(b).astype(real, copy=False) ** p).sum(axis=0)  # noqa: E731
    sums = partial_reduction(x, "norm", partial, np.add, detail=f"sums of |x|^{ord}")
    return Lazy.apply("norm", lambda v: done(v ** (1.0 / p)), (sums,))
