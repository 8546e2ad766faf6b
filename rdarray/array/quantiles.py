"""Exact quantiles without a sort: ``x.quantile``, ``np.quantile``, ``np.percentile``, ``np.median``
and their NaN-skipping forms.

The order statistics a quantile needs are found by selection (``_core/select.pyx``): a first pass
counts the values present and the span of their order keys; each next pass counts the keys of a
window into 65,536 buckets, per partition in parallel, and keeps only the buckets holding a wanted
rank; once those hold few values, a last pass gathers them and ``np.partition`` picks the ranks.
Each pass is one GIL-free kernel call per partition and moves a few kilobytes, so a quantile costs
about three reads of the data and no global sort. The passes chain as lazy values (``Lazy``'s
``then``): each one is planned when the previous one's result is known.

Several *streams* are selected at once: the whole array (``axis=None``), each column (``axis=0``)
or each numeric field of a table, so the quantiles of every field cost the same three passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import rdarray._core.select as select

from ..table import as_table, is_table
from .lazy import Lazy
from .reductions import partial_reduction

#: a window's keys are counted into at most ``2**_BUCKET_BITS`` buckets
_BUCKET_BITS = 16
#: gather a window's wanted buckets once they hold at most this many values
_GATHER = 1 << 21


def kernel_view(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """``values`` (1-D) in a dtype the selection kernels take, and whether the minimum int64 is NaT."""
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind in "mM":
        return np.ascontiguousarray(values).view(np.int64), True
    if kind == "f":
        if size > 8:
            raise TypeError(f"quantile: {values.dtype} is not supported")
        return np.ascontiguousarray(values, np.float32 if size <= 4 else np.float64), False
    if kind in "bi" or (kind == "u" and size < 4):
        return np.ascontiguousarray(values, np.int32 if size < 8 else np.int64), False
    if kind == "u":
        return np.ascontiguousarray(values, np.int64 if size == 4 else np.uint64), False
    raise TypeError(f"quantile: {values.dtype} values have no order statistics")


def _from_key(key: int, dtype: np.dtype):
    """The value of ``dtype`` (as the kernels see it) whose order key is ``key``."""
    sign = 1 << 63
    if dtype.kind == "f":
        bits = key ^ sign if key & sign else ~key & ((1 << 64) - 1)
        return np.array(bits, np.uint64).view(np.float64).astype(dtype)[()]
    if dtype == np.uint64:
        return np.uint64(key)
    return np.array(key ^ sign, np.uint64).view(np.int64).astype(dtype)[()]


class _Window:
    """Keys ``[lo, lo + nbins << shift)`` of one stream, whose first key has rank ``offset``
    among the stream's present values, searched for ``ranks``."""

    __slots__ = ("stream", "lo", "shift", "nbins", "offset", "ranks")

    def __init__(self, stream: int, lo: int, span: int, offset: int, ranks: list[int]):
        self.stream, self.lo, self.offset, self.ranks = stream, lo, offset, ranks
        self.shift = max(0, span.bit_length() - _BUCKET_BITS)  # span >> shift < 2**_BUCKET_BITS
        self.nbins = (span >> self.shift) + 1


def order_statistics(x, streams: Callable, nstreams: int, ranks_of: Callable, finish: Callable,
                     label: str) -> Lazy:
    """The values at given ranks of each stream of ``x``, then ``finish``.

    Parameters
    ----------
    x : PartitionedArray
    streams : callable
        ``streams(partition)``: the partition's 1-D arrays, one per stream, in kernel dtypes
        (:func:`kernel_view`) with their NaT flags: ``[(values, nat), ...]``.
    nstreams : int
    ranks_of : callable
        ``ranks_of(counts, missing)``: for each stream, the ranks (0-based, among its present
        values) wanted, from the counts of present and of missing values (NaN, NaT).
    finish : callable
        ``finish(counts, missing, found)``: the result, ``found[s][rank]`` the value of that rank.
    label : str

    Returns
    -------
    Lazy
    """

    def spans(block):
        out = []
        for values, nat in streams(block):
            n, lo, hi = select.key_span(values, nat)
            out.append((n, lo, hi, values.dtype, len(values) - n))
        return out

    def merge_spans(a, b):
        return [(na + nb, min(la, lb) if na and nb else (la if na else lb), max(ha, hb), da, ma + mb)
                for (na, la, ha, da, ma), (nb, lb, hb, _, mb) in zip(a, b)]

    def after_spans(total):
        counts, dtypes, missing = [t[0] for t in total], [t[3] for t in total], [t[4] for t in total]
        wanted = ranks_of(counts, missing)
        windows = [_Window(s, total[s][1], total[s][2] - total[s][1], 0, sorted(set(wanted[s])))
                   for s in range(nstreams) if wanted[s]]
        return _narrow(windows, {s: {} for s in range(nstreams)}, counts, missing, dtypes)

    def _narrow(windows: list[_Window], found: dict, counts, missing, dtypes):
        if not windows:
            return finish(counts, missing, found)

        def histograms(block):
            views = streams(block)
            return [select.key_histogram(views[w.stream][0], w.lo, w.shift, w.nbins, views[w.stream][1])
                    for w in windows]

        def after_histograms(hists):
            gather, deeper = [], []
            for w, hist in zip(windows, hists):
                below = np.concatenate([[0], np.cumsum(hist)]) + w.offset
                buckets = np.searchsorted(below, w.ranks, side="right") - 1
                keep = np.zeros(w.nbins, np.uint8)
                for b in np.unique(buckets):
                    in_bucket = [r for r, rb in zip(w.ranks, buckets) if rb == b]
                    if w.shift == 0:  # one key per bucket: the value is known
                        value = _from_key(w.lo + int(b), dtypes[w.stream])
                        found[w.stream].update({r: value for r in in_bucket})
                    elif hist[b] <= _GATHER:
                        keep[b] = 1
                    else:
                        lo = w.lo + (int(b) << w.shift)
                        deeper.append(_Window(w.stream, lo, (1 << w.shift) - 1, int(below[b]), in_bucket))
                if keep.any():
                    gather.append((w, keep, below, int(hist[keep.astype(bool)].sum())))
            if not gather:
                return _narrow(deeper, found, counts, missing, dtypes)

            def gathered(block):
                views = streams(block)
                out = []
                for w, keep, _, total in gather:
                    values, nat = views[w.stream]
                    room = np.empty(min(total, len(values)), values.dtype)
                    out.append(room[:select.gather_buckets(values, w.lo, w.shift, keep, room, nat)])
                return out

            def after_gather(pieces):
                for (w, keep, below, _), values in zip(gather, pieces):
                    counts_kept = np.where(keep.astype(bool), np.diff(below), 0)
                    before_kept = np.concatenate([[0], np.cumsum(counts_kept)])  # kept values before a bucket
                    buckets = np.searchsorted(below, w.ranks, side="right") - 1
                    local = {r: int(before_kept[b] + r - below[b]) for r, b in zip(w.ranks, buckets) if keep[b]}
                    if local:
                        positions = sorted(set(local.values()))
                        picked = np.partition(values, positions)
                        found[w.stream].update({r: picked[i] for r, i in local.items()})
                return _narrow(deeper, found, counts, missing, dtypes)

            return _pass(x, "gather", gathered, _concat_lists, after_gather, label)

        return _pass(x, "histogram", histograms, _add_lists, after_histograms, label)

    return _pass(x, "span", spans, merge_spans, after_spans, label)


def _pass(x, what: str, partial, combine, then, label: str) -> Lazy:
    """One selection pass over ``x`` whose merged result ``then`` takes (in a later plan)."""
    merged = partial_reduction(x, f"{label}:{what}", partial, combine, by_rows=False, label=f"{label}:{what}")
    return Lazy(label, then=(then, (merged,)))


def _add_lists(a, b):
    return [u + v for u, v in zip(a, b)]


def _concat_lists(a, b):
    return [np.concatenate([u, v]) for u, v in zip(a, b)]


# -- quantiles -------------------------------------------------------------------------------------

def _check_q(q) -> np.ndarray:
    qs = np.asarray(q, dtype=np.float64)
    if qs.ndim > 1 or np.any(np.isnan(qs)) or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantile: q must be a number or a 1-D list of numbers in [0, 1], got {q!r}")
    return np.atleast_1d(qs)


def _positions(n: int, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy's linear method: the ranks below and above each quantile and the weight of the one above."""
    virtual = (n - 1) * qs
    below = np.floor(virtual)
    above = below + 1
    top, bottom = virtual >= n - 1, virtual < 0
    below[top], above[top] = n - 1, n - 1
    below[bottom], above[bottom] = 0, 0
    return below.astype(np.int64), above.astype(np.int64), virtual - np.floor(virtual)


def _lerp(a, b, t):
    """NumPy's interpolation between neighbours (exact at both ends)."""
    diff = b - a
    out = np.asarray(a + diff * t)
    return np.where(t >= 0.5, b - diff * (1 - t), out).astype(out.dtype)


def quantile_streams(x, qs: np.ndarray, streams: Callable, dtypes: Sequence[np.dtype], skipna: bool,
                     median: bool, label: str, shaped: Callable, q=None) -> Lazy:
    """Per stream, the quantiles ``qs`` of its values (an array of ``len(qs)``), NaN when any value
    is missing and not ``skipna``, or when none is present. ``median``: the mean of the two middle
    values, as ``np.median`` computes it."""

    def unknown(n: int, nmissing: int) -> bool:  # the quantiles are NaN
        return n == 0 or (nmissing > 0 and not skipna)

    def ranks_of(counts, missing):
        return [[] if unknown(n, m) else sorted({int(r) for r in np.concatenate(_positions(n, qs)[:2])})
                for n, m in zip(counts, missing)]

    def finish(counts, missing, found):
        out = []
        for s, n in enumerate(counts):
            probe = np.zeros(2, dtypes[s])
            result = _median_dtype(dtypes[s]) if median else np.quantile(probe, qs if q is None else q).dtype
            if unknown(n, missing[s]):
                out.append(np.full(len(qs), np.nan, result))
                continue
            below, above, gamma = _positions(n, qs)
            lo = np.array([found[s][int(r)] for r in below]).astype(dtypes[s])
            hi = np.array([found[s][int(r)] for r in above]).astype(dtypes[s])
            if median:
                middle = np.mean(np.stack([lo, hi]).astype(result), axis=0)  # n even: the two middle values
                out.append(np.where(gamma == 0, lo.astype(result), middle).astype(result))
            else:
                out.append(_lerp(lo.astype(result), hi.astype(result), gamma.astype(result)))
        return shaped(out)

    return order_statistics(x, streams, len(dtypes), ranks_of, finish, label)


def _median_dtype(dtype: np.dtype) -> np.dtype:
    return np.median(np.zeros(2, dtype)).dtype


def array_quantile(x, q, axis=None, skipna: bool = False, median: bool = False, label: str = "quantile") -> Lazy:
    """``np.quantile(x, q, axis)`` (or ``np.median``) of a numeric PartitionedArray: ``axis`` None
    (all values) or 0 (per column)."""
    if is_table(x.dtype, x._node.trailing):
        raise TypeError(f"{label}: use x.quantile(q) on a table (one result per numeric field)")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{label}: {x.dtype} values are not supported")
    if axis not in (None, 0, -x.ndim) or (axis is not None and x.ndim == 1 and axis != 0):
        raise NotImplementedError(f"{label}: axis must be None or 0, got {axis!r}")
    qs = _check_q(q)
    trailing = x._node.trailing
    columns = 1 if axis is None or not trailing else int(np.prod(trailing))

    def streams(block):
        b = np.asarray(block)
        if axis is None or not trailing:
            return [kernel_view(b.reshape(-1))]
        flat = b.reshape(len(b), columns)
        return [kernel_view(flat[:, j]) for j in range(columns)]

    def shaped(per_stream):
        values = np.stack(per_stream, axis=-1)  # (len(q), columns)
        if axis is not None and trailing:
            values = values.reshape((len(qs),) + trailing)
        else:
            values = values[:, 0]
        return values if np.ndim(q) else values[0]

    dtypes = [x.dtype] * columns
    return quantile_streams(x, qs, streams, dtypes, skipna, median, label, shaped, q)


def table_quantile(x, q, fields: Sequence[str], label: str = "quantile") -> Lazy:
    """``DataFrame.quantile(q)``: per numeric field, NaN skipped; a float64 value per field when
    ``q`` is a number, else a structured array of one row per quantile."""
    qs = _check_q(q)
    dtypes = [np.dtype(np.float64) if x.dtype[f].kind == "b" else x.dtype[f] for f in fields]  # bools as 0 and 1

    def streams(block):
        t = as_table(block)
        return [kernel_view(np.asarray(t[f])) for f in fields]

    def shaped(per_stream):
        out = np.empty(len(qs), [("quantile", np.float64)] + [(f, np.float64) for f in fields])
        out["quantile"] = qs
        for f, values in zip(fields, per_stream):
            out[f] = values
        return out if np.ndim(q) else {f: np.float64(out[f][0]) for f in fields}

    return quantile_streams(x[list(fields)], qs, streams, dtypes, True, False, label, shaped)


def _numpy_quantile(label: str, scale: float = 1.0, skipna: bool = False):
    """``np.quantile``-like functions: ``scale`` 100 for percentiles."""
    def call(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **kwargs):
        _plain_call(label, out, keepdims, kwargs)
        if method != "linear":
            raise NotImplementedError(f"{label}: only method='linear' (NumPy's default) is supported")
        qs = np.asarray(q, dtype=np.float64) / scale
        if not np.ndim(q):  # a Python number stays one: NumPy then keeps float32 results float32
            qs = float(qs) if isinstance(q, (int, float)) else qs[()]
        return array_quantile(a, qs, axis, skipna=skipna, label=label)

    return call


def _numpy_median(label: str, skipna: bool = False):
    def call(a, axis=None, out=None, overwrite_input=False, keepdims=False, **kwargs):
        _plain_call(label, out, keepdims, kwargs)
        return array_quantile(a, 0.5, axis, skipna=skipna, median=True, label=label)

    return call


def _plain_call(label: str, out, keepdims, kwargs) -> None:
    if out is not None or keepdims or kwargs:
        given = ["out"] * (out is not None) + ["keepdims"] * bool(keepdims) + list(kwargs)
        raise TypeError(f"{label}: {', '.join(given)} not supported on a PartitionedArray")


FUNCTIONS = {
    np.quantile: _numpy_quantile("quantile"), np.percentile: _numpy_quantile("percentile", 100.0),
    np.nanquantile: _numpy_quantile("nanquantile", skipna=True),
    np.nanpercentile: _numpy_quantile("nanpercentile", 100.0, skipna=True),
    np.median: _numpy_median("median"), np.nanmedian: _numpy_median("nanmedian", skipna=True),
}
