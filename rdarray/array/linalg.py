"""Linear algebra on tall arrays: products reduced to small matrices, tall-skinny QR, SVD, least
squares and norms.

A tall array ``x`` (n × k, n large) enters products in two ways. ``x @ w`` with ``w`` in memory is
narrow: each partition's rows times ``w``. ``x.T @ y`` (y aligned with x by rows) is a reduction:
``x.T @ y = sum_p x_p.T @ y_p`` over the partitions ``p``, each term one BLAS product, the terms
summed pairwise in a tree (the error grows with the tree's depth, ``log2 P``, not with ``P``).
Covariances take NumPy's two passes: the means, then the cross products of the deviations from
them (a one-pass merge of partition means, Chan's update, loses digits when a column's mean is
large beside its spread and another's spread is large).

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

import contextlib
import functools
import threading

import numpy as np

from ..errors import check_integer
from ..graph.lineage import VALUE, AllToOne, Broadcast, Node, OneToOne
from ..graph.partials import EMPTY, tree_combine
from .elementwise import align
from .lazy import Lazy

_PRODUCTS = ("supported products of a partitioned x (n rows): x @ w and np.dot(x, w) with w in memory "
             "(narrow, n rows out); x.T @ y and w @ x with y partitioned or in memory, n rows "
             "(reductions to one small matrix); x @ y of two 1-D partitioned arrays (their inner product)")


# -- BLAS threads -----------------------------------------------------------------------------------

_blas = threading.Lock()
_blas_state: dict = {"users": 0, "limiter": None}


@functools.cache
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread():
    """BLAS and LAPACK on one thread while any task of this module runs (with ``threadpoolctl``
    installed). The tasks are the parallelism: BLAS threads started beside them by every task
    contend for the same cores, and OpenBLAS's waiting threads then cost more than the work (a QR
    of 1,024 × 32 took 90 ms instead of 1 ms on a busy 2-core machine). The first task in sets
    the limit, the last one out restores it."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with _blas:
        if _blas_state["users"] == 0:
            _blas_state["limiter"] = controller.limit(limits=1, user_api="blas")
        _blas_state["users"] += 1
    try:
        yield
    finally:
        with _blas:
            _blas_state["users"] -= 1
            if _blas_state["users"] == 0:
                _blas_state["limiter"].restore_original_limits()
                _blas_state["limiter"] = None


def _single_threaded(fn):
    """``fn`` run under :func:`one_blas_thread`."""
    @functools.wraps(fn)
    def run(*args):
        with one_blas_thread():
            return fn(*args)
    return run


# -- products -------------------------------------------------------------------------------------

class Transposed:
    """``x.T`` of a tall partitioned ``x``: an operand of ``x.T @ y`` (a reduction to a small matrix).

    The transpose of a tall array is wide: its columns are the partitions, so it is not a
    PartitionedArray. It supports ``@`` (and ``np.dot``, ``np.matmul``) with a right side aligned
    with ``x`` by rows, and ``.T`` back to ``x``; anything else raises a ``TypeError`` saying so.

    Parameters
    ----------
    x : PartitionedArray
        The 2-D array transposed.
    """

    __array_priority__ = 25

    def __init__(self, x):
        self.x = x

    @property
    def T(self):
        return self.x

    @property
    def shape(self) -> tuple:
        return tuple(reversed(self.x.shape))

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> np.dtype:
        return self.x.dtype

    def __repr__(self) -> str:
        return f"rd.Transposed<{self.x!r}>"

    def __matmul__(self, other):
        return gram(self.x, other, "x.T @ y")

    def __rmatmul__(self, other):
        raise TypeError("w @ x.T: the result would have as many columns as x has rows; " + _PRODUCTS)

    def _refuse(self, what: str):
        return TypeError(f"{what} of x.T (a transposed partitioned array) is not supported: x.T only enters "
                         f"products x.T @ y; " + _PRODUCTS)

    def __array__(self, dtype=None, copy=None):
        raise self._refuse("converting to NumPy")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul and method == "__call__" and not kwargs and inputs[0] is self and len(inputs) == 2:
            return self @ inputs[1]
        raise self._refuse(f"{ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        if func is np.dot and len(args) == 2 and args[0] is self and not kwargs:
            return self @ args[1]
        if func is np.transpose and len(args) == 1 and not kwargs:
            return self.x
        raise self._refuse(f"np.{func.__name__}")

    def __getitem__(self, key):
        raise self._refuse("indexing")

    def __iter__(self):
        raise self._refuse("iterating")


def _refusing(name: str):
    def refuse(self, *args):
        raise self._refuse(f"the operator {name}")
    return refuse


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "radd", "rsub", "rmul", "rtruediv",
              "rfloordiv", "rmod", "rpow", "neg", "abs", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"):
    setattr(Transposed, f"__{_name}__", _refusing(_name))
Transposed.__hash__ = object.__hash__  # type: ignore[method-assign]


def transposed(x):
    """``x.T``: ``x`` itself when 1-D (as NumPy), a :class:`Transposed` when 2-D."""
    if x.ndim == 1:
        return x
    if x.ndim != 2 or x.dtype.names:
        raise ValueError(f"T: only 1-D and 2-D numeric arrays have a transpose here, got {x.dtype} of shape {x.shape}")
    return Transposed(x)


def _aligned_operand(x, y, what: str):
    """``y`` as a PartitionedArray with ``x``'s rows: partitioned already, or an array in memory of
    ``len(x)`` rows split at ``x``'s partition boundaries."""
    from .core import PartitionedArray, ensure_lengths, from_numpy

    if isinstance(y, Lazy):
        y = y.compute()
    if not isinstance(y, PartitionedArray):
        y = np.asarray(y)
        if y.ndim not in (1, 2) or len(y) != len(x):
            raise ValueError(f"{what}: the right side must have {len(x)} rows (x's), got shape {y.shape}")
        y = from_numpy(y, partition_lengths=ensure_lengths(x._node))
    if y.ndim not in (1, 2) or y.dtype.names:
        raise ValueError(f"{what}: expected a 1-D or 2-D numeric right side, got {y.dtype} of shape {y.shape}")
    return y


#: rows of a partition multiplied at once: products of the rows in cache-sized chunks, summed in a
#: tree, are faster than one BLAS call over a tall block (a row-major block's transpose sweeps it
#: once per output row)
_PRODUCT_ROWS = 8192


class _Whole:
    """An argument of :func:`_in_chunks`'s function passed whole to every chunk (not cut by rows)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _in_chunks(fn, combine=np.add):
    """``fn`` of a partition's blocks as ``fn`` of each chunk of ``_PRODUCT_ROWS`` rows, the
    results combined pairwise in a tree; ``_Whole`` arguments are passed as they are."""
    def run(*blocks):
        n = next(len(b) for b in blocks if not isinstance(b, _Whole))
        parts = [fn(*[b.value if isinstance(b, _Whole) else b[i:i + _PRODUCT_ROWS] for b in blocks])
                 for i in range(0, max(n, 1), _PRODUCT_ROWS)]
        return tree_combine(parts, combine)
    return run


def _pair_node(op: str, func, x, y, combine=None, detail: str = "") -> Node:
    """A node whose partition ``p`` is ``func(x_p, y_p)`` (a value), ``y`` aligned with ``x``."""
    return Node(op, func, [OneToOne(x._node), align(x._node, y._node, op)], x.npartitions, VALUE, (), None,
                detail=detail or "partial", combine=combine)


def gram(x, y, what: str = "x.T @ y") -> Lazy:
    """``x.T @ y``: the per-partition products ``x_p.T @ y_p`` (BLAS) summed pairwise in a tree.

    Parameters
    ----------
    x : PartitionedArray
        1-D or 2-D, n rows.
    y : PartitionedArray or array_like
        1-D or 2-D, n rows (in memory: split at x's partition boundaries).
    what : str
        The operation's name in errors.

    Returns
    -------
    rd.Lazy
        The (k, m) matrix (shapes as NumPy's ``x.T @ y``).
    """
    if x.ndim not in (1, 2) or x.dtype.names:
        raise ValueError(f"{what}: expected a 1-D or 2-D numeric x, got {x.dtype} of shape {x.shape}")
    y = _aligned_operand(x, y, what)
    if x is y or x._node is y._node:
        node = Node("gram", _single_threaded(_in_chunks(lambda a: a.T @ a)), [OneToOne(x._node)], x.npartitions,
                    VALUE, (), None, detail="x.T @ x")
    else:
        node = _pair_node("gram", _single_threaded(_in_chunks(lambda a, b: a.T @ b)), x, y, detail="x.T @ y")
    meta = np.zeros((0,) + x._node.trailing, x.dtype).T @ np.zeros((0,) + y._node.trailing, y.dtype)
    return Lazy.reduced("gram", f"{what} of {x!r}", node, np.add, meta=meta)


def matmul(a, b):
    """``a @ b`` where either is partitioned: narrow (``x @ w``), a reduction (``x.T @ y``, ``w @ x``,
    1-D ``x @ y``), or a ``TypeError`` naming what is supported (two tall 2-D arrays)."""
    from .core import PartitionedArray
    from .elementwise import map_blocks

    if isinstance(a, PartitionedArray):
        if isinstance(b, Transposed):
            raise TypeError("x @ y.T: the result would be n × n (a row of it per row of x); " + _PRODUCTS)
        if a.ndim == 1:
            return gram(a, b, "x @ y")
        if isinstance(b, PartitionedArray):
            raise TypeError(f"x @ y of two partitioned arrays (shapes {a.shape} and {b.shape}) is not supported: "
                            "x's columns would meet y's rows; " + _PRODUCTS + ". For a small y, x @ y.compute().")
        w = np.asarray(b.compute() if isinstance(b, Lazy) else b)
        if a.ndim != 2 or w.ndim not in (1, 2) or a.shape[1] != w.shape[0] or a.dtype.names:
            raise ValueError(f"matmul: expected a 2-D partitioned array (n, k) and an in-memory (k,) or (k, m) "
                             f"matrix, got shapes {a.shape} and {w.shape}")
        return map_blocks(a, lambda blk: blk @ w, "matmul", f"{w.shape}")
    if isinstance(b, PartitionedArray):  # w @ x = (x.T @ w.T).T
        w = np.asarray(a.compute() if isinstance(a, Lazy) else a)
        if w.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise ValueError(f"w @ x: expected a 1-D or 2-D w and x, got shapes {w.shape} and {b.shape}")
        out = gram(b, w.T, "w @ x")
        return out if w.ndim == 1 or b.ndim == 1 else Lazy.apply("T", np.transpose, (out,))
    return NotImplemented


def dot(a, b, out=None):
    """``np.dot`` on a partitioned operand: ``a @ b`` (NumPy's dot and matmul agree on 1-D and 2-D)."""
    if out is not None:
        raise TypeError("dot: PartitionedArray is immutable; out= is not supported")
    for o in (a, b):
        if np.ndim(o) > 2 if not hasattr(o, "ndim") else o.ndim > 2:
            raise ValueError("dot: only 1-D and 2-D operands are supported with a partitioned one")
    return matmul(a, b)


# -- covariance and correlation -------------------------------------------------------------------

def _as_columns(block: np.ndarray) -> np.ndarray:
    """A 1-D block as one column, a 2-D block as it is."""
    return block[:, None] if block.ndim == 1 else block


def _variables(dtype):
    """The variables of one partition as an (n_p, k) array of ``dtype`` (x's columns, then y's)."""
    def stack(*blocks):
        blocks = [_as_columns(blk) for blk in blocks]
        a = blocks[0] if len(blocks) == 1 else np.column_stack(blocks)
        return a.astype(dtype, copy=False)
    return stack


def _add_all(a, b):
    return tuple(u + v for u, v in zip(a, b))


def _cov_node(m, y, rowvar, dtype, what) -> tuple[Lazy, int, np.dtype]:
    """The value ``(n, s, C)``: NumPy's two passes. The first finds the means ``μ`` (pairwise
    sums); the second sums, over the partitions, ``s = Σ d`` and ``C = Σ d dᴴ`` of the deviations
    ``d = x - μ``. Then ``C - s sᴴ / n`` is the centered cross products, with the rounding error of
    ``μ`` corrected to first order (``s`` is that error times n)."""
    from .core import PartitionedArray

    if m.ndim not in (1, 2) or m.dtype.names:
        raise ValueError(f"{what}: expected a 1-D or 2-D numeric array, got {m.dtype} of shape {m.shape}")
    if m.ndim == 2 and rowvar:
        raise ValueError(f"{what}: with rowvar=True (NumPy's default) each row of the partitioned array would be "
                         f"a variable, an n × n result; pass rowvar=False: the columns are the variables and the "
                         f"rows the observations")
    if dtype is None:
        dtype = np.result_type(m.dtype, np.float64)
    inputs = [m]
    if y is not None:
        if isinstance(y, PartitionedArray) and y.ndim == 2 and rowvar:
            raise ValueError(f"{what}: pass rowvar=False (the columns of y are variables)")
        y = _aligned_operand(m, y, what)
        inputs.append(y)
        dtype = np.result_type(dtype, y.dtype) if y.dtype.kind == "c" else dtype
    dtype = np.dtype(dtype)
    k = sum(1 if a.ndim == 1 else a.shape[1] for a in inputs)
    variables = _variables(dtype)
    deps = [OneToOne(m._node)] + [align(m._node, a._node, what) for a in inputs[1:]]

    def sums(*blocks):
        a = variables(*blocks)
        return len(a), a.sum(axis=0)

    first = Node(f"{what}.means", sums, deps, m.npartitions, VALUE, (), None, detail="sums", combine=_add_all)
    means = Lazy.reduced(f"{what}.means", "means", first, _add_all,
                         lambda v: v[1] / v[0] if v[0] else np.zeros(k, dtype))
    assert means.node is not None

    def centered(*args):
        *blocks, mu = args
        d = variables(*blocks) - mu
        return len(d), d.sum(axis=0), d.T @ d.conj()

    def centered_in_chunks(*args):
        *blocks, mu = args
        return _in_chunks(centered, _add_all)(*blocks, _Whole(mu))

    second = Node(what, _single_threaded(centered_in_chunks), [*deps, Broadcast(means.node)], m.npartitions,
                  VALUE, (), None, detail="centered cross products")
    return Lazy.reduced(what, f"{what} of {m!r}", second, _add_all), k, dtype


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """``np.cov(x, rowvar=False)``: the covariance of the columns, in NumPy's two passes (the
    means, then the cross products of the deviations, each partition's summed in a tree).

    Parameters
    ----------
    m : PartitionedArray
        (n,) for one variable, or (n, k): the columns are the variables (``rowvar=False``).
    y : PartitionedArray or array_like, optional
        More variables, n rows.
    rowvar : bool
        Must be False for a 2-D array.
    bias : bool, default False
        Divide by n instead of n - 1.
    ddof : int, optional
        The divisor is n - ddof (overrides ``bias``).
    fweights, aweights : None
        Not supported.
    dtype : numpy.dtype, optional
        The result's dtype; float64 at least, as NumPy.

    Returns
    -------
    rd.Lazy
        The (k, k) matrix, or a 0-d array for one variable, as NumPy.
    """
    if fweights is not None or aweights is not None:
        raise TypeError("cov: fweights and aweights are not supported for a partitioned array")
    if ddof is not None:
        check_integer(ddof, -(1 << 62), f"cov: ddof must be an integer, got {ddof!r}")
    ddof = (0 if bias else 1) if ddof is None else ddof
    products, k, dtype = _cov_node(m, y, rowvar, dtype, "cov")

    def finalize(value):
        n, s, c = value
        with np.errstate(divide="ignore", invalid="ignore"):
            c = c - np.outer(s, s.conj()) / n if n else np.full((k, k), np.nan, dtype)
            out = (c / max(n - ddof, 0)).astype(dtype, copy=False)
        return out.squeeze()

    out = Lazy.apply("cov", finalize, (products,))
    out.meta = np.zeros((k, k), dtype).squeeze()
    return out


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef(x, rowvar=False)``: Pearson correlations of the columns, from :func:`cov`.

    Parameters
    ----------
    x : PartitionedArray
        (n,) or (n, k), the columns the variables.
    y : PartitionedArray or array_like, optional
        More variables, n rows.
    rowvar : bool
        Must be False for a 2-D array.
    dtype : numpy.dtype, optional
        The result's dtype.

    Returns
    -------
    rd.Lazy
        The (k, k) matrix, values clipped to [-1, 1] as NumPy's.
    """
    def normalize(c):
        c = np.asarray(c)
        if c.ndim == 0:  # one variable: NaN unless its variance is a positive number
            with np.errstate(divide="ignore", invalid="ignore"):
                return c / c
        d = np.diag(c)
        stddev = np.sqrt(d.real)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = c / stddev[:, None] / stddev[None, :]
        np.clip(c.real, -1, 1, out=c.real)
        if np.iscomplexobj(c):
            np.clip(c.imag, -1, 1, out=c.imag)
        return c

    return Lazy.apply("corrcoef", normalize, (cov(x, y, rowvar, dtype=dtype),))


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

    partials = Node(f"{what}.R", _single_threaded(partition_r), [OneToOne(x._node)], x.npartitions, VALUE, (),
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
            np.matmul(qs[j], t, out=out[j * size:(j + 1) * size])
        return out

    node = x._node
    assert value.node is not None
    return PartitionedArray(Node(what, _single_threaded(run), [OneToOne(node), Broadcast(value.node)],
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
    b = _aligned_operand(a, b, "lstsq")
    m = 1 if b.ndim == 1 else b.shape[1]
    dtype = _qr_dtype(np.result_type(a.dtype, b.dtype))
    size = _chunk_rows(k + m)

    def partial(x_p, y_p):
        if len(x_p) == 0:
            return EMPTY
        return _chunked_r(np.column_stack([x_p, _as_columns(y_p)]).astype(dtype, copy=False), size)

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

    node = _pair_node("lstsq", _single_threaded(partial), a, b, combine=merge, detail="R of [a | b]")
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
