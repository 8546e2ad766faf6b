"""Products of tall arrays: ``x.T @ y``, ``w @ x``, ``x @ w``, ``np.dot``, ``np.cov`` and
``np.corrcoef``.

A tall array ``x`` (n × k, n large) enters products in two ways. ``x @ w`` with ``w`` in memory is
narrow: each partition's rows times ``w``. ``x.T @ y`` (y aligned with x by rows) is a reduction:
``x.T @ y = sum_p x_p.T @ y_p`` over the partitions ``p``, each term BLAS products of cache-sized
row chunks, the terms summed pairwise in a tree (the error grows with the tree's depth, not with
the number of terms). Covariances take NumPy's two passes: the means, then the cross products of
the deviations from them (a one-pass merge of partition means, Chan's update, loses digits when a
column's mean is large beside its spread and another's spread is large).
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

from ..errors import check_integer
from ..graph.lineage import VALUE, Broadcast, Node, OneToOne
from ..graph.partials import tree_combine
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


def single_threaded(fn):
    """``fn`` run under :func:`one_blas_thread`."""
    @functools.wraps(fn)
    def run(*args):
        with one_blas_thread():
            return fn(*args)
    return run


# -- products -------------------------------------------------------------------------------------

def crossprod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` of two blocks (1-D or 2-D) through ``np.dot``, which runs BLAS without the GIL;
    ``@`` (NumPy's matmul) holds it, so two tasks' products ran one after the other."""
    return np.dot(a.T, b)


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


def aligned_operand(x, y, what: str):
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


def pair_node(op: str, func, x, y, combine=None, detail: str = "") -> Node:
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
    y = aligned_operand(x, y, what)
    if x is y or x._node is y._node:
        node = Node("gram", single_threaded(_in_chunks(lambda a: crossprod(a, a))), [OneToOne(x._node)], x.npartitions,
                    VALUE, (), None, detail="x.T @ x")
    else:
        node = pair_node("gram", single_threaded(_in_chunks(crossprod)), x, y, detail="x.T @ y")
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
        return map_blocks(a, lambda blk: np.dot(blk, w), "matmul", f"{w.shape}")
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

def as_columns(block: np.ndarray) -> np.ndarray:
    """A 1-D block as one column, a 2-D block as it is."""
    return block[:, None] if block.ndim == 1 else block


def _variables(dtype):
    """The variables of one partition as an (n_p, k) array of ``dtype`` (x's columns, then y's)."""
    def stack(*blocks):
        blocks = [as_columns(blk) for blk in blocks]
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
        y = aligned_operand(m, y, what)
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
        return len(d), d.sum(axis=0), crossprod(d, d.conj())

    def centered_in_chunks(*args):
        *blocks, mu = args
        return _in_chunks(centered, _add_all)(*blocks, _Whole(mu))

    second = Node(what, single_threaded(centered_in_chunks), [*deps, Broadcast(means.node)], m.npartitions,
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
