"""NumPy's NaN-skipping reductions (``np.nansum`` ... ``np.nanargmax``) on a PartitionedArray.

Each is a partial reduction whose partials skip NaN (and NaT) where they are made: minima and
maxima through ``np.fmin`` / ``np.fmax`` (which return the other operand when one is NaN),
moments with a count per column, positions with NaN as the worst candidate. Integer and boolean
arrays hold no NaN: their NaN-skipping reductions are the plain ones.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import is_nan
from .elementwise import map_blocks
from .reductions import _axes, _check_ddof, _no_identity, _probe, _rows_first, arg_reduction, partial_reduction

_FLOATS = "fc"
_TIMES = "mM"


def _refuse_out(name: str, kwargs: dict) -> None:
    if kwargs.get("out") is not None:
        raise TypeError(f"{name}: PartitionedArray is immutable; out= is not supported")


def _skips(x) -> bool:
    """Whether ``x`` can hold NaN or NaT."""
    return x.dtype.kind in _FLOATS + _TIMES


def nan_filled(name: str, fill):
    """``np.nansum`` / ``np.nanprod``: NaN counts as ``fill`` (0 or 1)."""
    def call(x, axis=None, **kwargs):
        if x.dtype.kind not in _FLOATS:
            return getattr(x, name[3:])(axis=axis, **kwargs)
        return getattr(map_blocks(x, lambda b: np.where(np.isnan(b), fill, b), name), name[3:])(axis=axis, **kwargs)

    return call


def nan_extreme(name: str):
    """``np.nanmin`` / ``np.nanmax``: NaN where a reduced slice holds only NaN (as NumPy)."""
    fmin_or_fmax = np.fmin if name == "nanmin" else np.fmax

    def call(x, axis=None, keepdims=False, **kwargs):
        if not _skips(x):
            return getattr(x, name[3:])(axis=axis, keepdims=keepdims)
        _refuse_out(name, kwargs)
        axes = _axes(x, axis)

        def partial(b):
            return fmin_or_fmax.reduce(b, axis=axes, keepdims=keepdims)

        if 0 not in axes:
            return map_blocks(x, partial, name, f"axis={axis}")
        meta = _probe(x, name, partial)
        return partial_reduction(x, name, partial, fmin_or_fmax, _no_identity(name), skip_empty=True, meta=meta)

    return call


def _nan_moments(b: np.ndarray) -> tuple:
    """``(n, mean, M2)`` per column of ``b``'s rows, NaN left out (``n`` an array of counts)."""
    kept = ~np.isnan(b)
    n = kept.sum(axis=0)
    work = np.complex128 if b.dtype.kind == "c" else np.float64
    total = np.where(kept, b, 0).sum(axis=0, dtype=work)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / np.maximum(n, 1)
    d = np.where(kept, b - mean, 0)
    m2 = (d * d.conj()).real.sum(axis=0) if work is np.complex128 else (d * d).sum(axis=0)
    return n, mean, m2


def _merge_nan_moments(a: tuple, b: tuple) -> tuple:
    """Chan et al.'s merge of two ``(n, mean, M2)`` with counts per column."""
    na, nb = a[0], b[0]
    n = na + nb
    delta = b[1] - a[1]
    share = np.divide(nb, n, out=np.zeros(np.shape(n)), where=n > 0)
    mean = np.where(na == 0, b[1], np.where(nb == 0, a[1], a[1] + delta * share))
    abs2 = (delta * np.conj(delta)).real if np.iscomplexobj(delta) else delta * delta
    with np.errstate(invalid="ignore"):
        spread = np.where((na == 0) | (nb == 0), 0, abs2 * na * share)
    return n, mean, a[2] + b[2] + spread


def nan_moment(name: str):
    """``np.nanmean`` / ``np.nanvar`` / ``np.nanstd`` from merged NaN-skipping moments."""
    def call(x, axis=None, dtype=None, keepdims=False, ddof=0, **kwargs):
        if x.dtype.kind not in _FLOATS:
            extra = {} if name == "nanmean" else {"ddof": ddof}
            return getattr(x, name[3:])(axis=axis, dtype=dtype, keepdims=keepdims, **extra)
        _refuse_out(name, kwargs)
        _check_ddof(ddof, name)
        axes = _axes(x, axis)
        along = getattr(np, name)
        if 0 not in axes:
            extra = {} if name == "nanmean" else {"ddof": ddof}
            return map_blocks(x, lambda b: along(b, axis=axes, dtype=dtype, keepdims=keepdims, **extra), name,
                              f"axis={axis}")
        out = np.dtype(dtype) if dtype is not None else along(np.zeros(2, x.dtype)).dtype
        shape = tuple(1 if k in axes else n for k, n in enumerate(x.shape)) if keepdims else None

        def finalize(m):
            n, mean, m2 = m
            with np.errstate(invalid="ignore", divide="ignore"):
                if name == "nanmean":
                    value = np.where(n > 0, mean, np.nan)
                else:
                    value = np.where(n - ddof > 0, m2 / np.maximum(n - ddof, 1), np.nan)
                    value = np.sqrt(value) if name == "nanstd" else value
            value = np.asarray(value).astype(out)
            return np.reshape(value, shape) if shape is not None else value[()]

        result_shape = shape or tuple(n for k, n in enumerate(x.shape) if k not in axes)
        return partial_reduction(x, name, lambda b: _nan_moments(_rows_first(b, axes)), _merge_nan_moments,
                                 finalize, detail="NaN skipped", meta=np.zeros(result_shape, dtype=out))

    return call


def _less_skipping_nan(new, old):
    """``new`` wins when smaller, or present where ``old`` is missing."""
    new_nan, old_nan = is_nan(np.asarray(new)), is_nan(np.asarray(old))
    with np.errstate(invalid="ignore"):
        return ~new_nan & (old_nan | (new < old))


def _greater_skipping_nan(new, old):
    new_nan, old_nan = is_nan(np.asarray(new)), is_nan(np.asarray(old))
    with np.errstate(invalid="ignore"):
        return ~new_nan & (old_nan | (new > old))


def _worst(dtype: np.dtype, infinity: float):
    """The value no present value of ``dtype`` loses to: an infinity, or the extreme time."""
    if dtype.kind not in _TIMES:
        return infinity
    ticks = np.iinfo(np.int64).max if infinity > 0 else np.iinfo(np.int64).min + 1  # the minimum is NaT
    return np.array(ticks).view(dtype)


def _first_best(op: str):
    """Per column, the row of the smallest (``nanargmin``) or largest value, NaN skipped; a row of
    NaN where the column holds only NaN."""
    worst = np.inf if op == "nanargmin" else -np.inf
    plain = np.argmin if op == "nanargmin" else np.argmax

    def index(b):
        missing = is_nan(b)
        if not missing.any():
            return plain(b, axis=0)
        filled = np.where(missing, _worst(b.dtype, worst), b)
        idx = plain(filled, axis=0)
        picked_missing = np.take_along_axis(missing, np.expand_dims(idx, 0), 0)[0] if b.ndim > 1 else missing[idx]
        if np.any(picked_missing):  # only NaN and values equal to ``worst``: the first present one, if any
            first_present = np.argmax(~missing, axis=0)
            idx = np.where(picked_missing, first_present, idx)
        return idx

    return index


def nan_position(name: str):
    """``np.nanargmin`` / ``np.nanargmax``: a global row index; ValueError for an all-NaN slice."""
    better = _less_skipping_nan if name == "nanargmin" else _greater_skipping_nan

    def finalize(idx, value):
        if np.any(is_nan(np.asarray(value))):
            raise ValueError(f"{name}: All-NaN slice encountered")
        return idx

    def call(x, axis=None, **kwargs):
        if not _skips(x):
            return getattr(x, name[3:])(axis=axis)
        _refuse_out(name, kwargs)
        return arg_reduction(x, name, axis, better, _first_best(name), finalize)

    return call


FUNCTIONS = {
    np.nansum: nan_filled("nansum", 0), np.nanprod: nan_filled("nanprod", 1),
    np.nanmin: nan_extreme("nanmin"), np.nanmax: nan_extreme("nanmax"),
    np.nanmean: nan_moment("nanmean"), np.nanvar: nan_moment("nanvar"), np.nanstd: nan_moment("nanstd"),
    np.nanargmin: nan_position("nanargmin"), np.nanargmax: nan_position("nanargmax"),
}
