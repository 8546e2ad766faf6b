"""``rd.merge_asof``: each left row joined with the nearest right row by a sorted key, as pandas'.

Both sides are sorted by ``on``. The result keeps left's rows and partitions: task ``p`` joins left
partition ``p``, whose keys span ``[a_p, b_p]``, with every right row it may match, and no other.
The plan (five stages, right read once):

1. *Left bounds*, then *left ranges* (one task): the first and last key of every left partition,
   checking that left is sorted within and across partitions. The distinct range ends are the
   *points*; they cut the key axis into *segments*: each point, and each open interval between
   two points.
2. *Write* (the map side of a shuffle, fused with right's chain; checks each right partition is
   sorted): a right row whose key lies strictly inside ``(a_p, b_p)`` goes to bucket ``p`` (ranges
   touch only at their ends, so at most one partition wants it); rows on a point or in a gap stay.
   One more bucket gets the partition's *summary*: the first and last row of every (segment,
   ``by`` group), the only rows that can match a left row outside their segment.
3. *Carries* (one task): the summaries merged the same way, checking that right is sorted across
   partitions.
4. *Join*: task ``p`` adds to its bucket, from the carries, the rows on ``a_p`` and ``b_p`` and, per
   group, the last row below ``a_p`` and the first above ``b_p``: every candidate for every
   direction, however many partitions away, in key order. The match is NumPy: keys numbered by one
   factorize over both sides, both sides ordered by (group, key), and ``searchsorted``.

A small side in very many partitions (the plan costs right's partitions times left's buckets) is
first joined into as many partitions as its size calls for (``wide.coalesced``, as before a
shuffle), and the result cut back into left's partitions by a last node (a row-range realignment).

Each right row moves at most once, so heavy ties on a partition boundary are not replicated.
The carries hold about two rows per segment and group; each join task reads one per group.

Missing right values (a left row without a match): integer and bool fields are float64 (always,
so the dtype is known before computing), NaN for floats, NaT for datetimes and timedeltas, and
the empty string for ``S`` and ``U`` fields (NumPy strings have no missing value).
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

import numpy as np

from ..dtypes import is_nan, mixes_zones, nullable, take, zoned_name
from ..errors import ArgumentTypeError
from ..graph.lineage import (
    VALUE,
    AllToOne,
    Broadcast,
    Node,
    OneBucket,
    OneToOne,
    ShuffleDependency,
    per_partition,
    realign,
)
from ..shuffle import hashing
from ..shuffle.exchange import buckets
from ..storage.buckets import Buckets
from ..table import Table, with_fields
from .wide import coalesced

DIRECTIONS = ("backward", "forward", "nearest")


class Spec(NamedTuple):
    """The checked arguments and the output layout."""

    on: str
    by: tuple[str, ...]
    direction: str
    tolerance: object  # None, or a non-negative number comparable with the key gaps
    exact: bool
    left_fields: tuple[tuple[str, str], ...]  # (source, output name)
    right_fields: tuple[tuple[str, str], ...]
    dtype: np.dtype


class Ranges(NamedTuple):
    """Left's key ranges: ``points`` (sorted distinct range ends); for left partition ``p`` the
    indices ``first[p]`` and ``last[p]`` of its ends in ``points`` (-1 when empty); for open
    segment ``2k`` (between points ``k - 1`` and ``k``) the left partition it is inside of, or -1."""

    points: np.ndarray
    first: np.ndarray
    last: np.ndarray
    inside: np.ndarray


class Carries(NamedTuple):
    """The first and last right row of every (segment, group), in right order, indexed by
    ``group * width + segment`` for per-group searches."""

    rows: np.ndarray
    segments: np.ndarray  # of each row: nondecreasing
    keys: np.ndarray  # group * width + segment, sorted
    rows_of_keys: np.ndarray  # the row of each sorted key
    group_starts: np.ndarray  # group * width for every group
    width: int

    def last_below(self, segment: int) -> np.ndarray:
        """Per group, its last row in segments up to ``segment``."""
        pos = np.searchsorted(self.keys, self.group_starts + segment, side="right") - 1
        found = pos >= 0
        found[found] = self.keys[pos[found]] >= self.group_starts[found]
        return self.rows_of_keys[pos[found]]

    def first_from(self, segment: int) -> np.ndarray:
        """Per group, its first row in segments from ``segment`` on."""
        pos = np.searchsorted(self.keys, self.group_starts + segment, side="left")
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] < self.group_starts[found] + self.width
        return self.rows_of_keys[pos[found]]

    def on_point(self, segment: int) -> np.ndarray:
        """The rows in ``segment``."""
        lo, hi = np.searchsorted(self.segments, [segment, segment + 1])
        return np.arange(lo, hi)


def merge_asof(left, right, on, by=None, direction="backward", tolerance=None, allow_exact_matches=True,
               suffixes=("_x", "_y")):
    """Each row of ``left`` with the right row nearest by ``on``, as ``pandas.merge_asof``.

    The result has left's rows and partitions, left's fields then right's other fields (int and
    bool ones as float64, so that a missing match can be NaN).

    Parameters
    ----------
    left, right : PartitionedArray
        1-D structured arrays, both sorted by ``on``.
    on : str
        The ordered key field.
    by : str or list of str, optional
        Match only within groups of equal ``by`` fields.
    direction : {"backward", "forward", "nearest"}
        The last right row with ``right.on <= left.on``, the first with ``>=``, or the closer of
        those (the backward one on a tie).
    tolerance : number or timedelta, optional
        The largest gap allowed between the keys.
    allow_exact_matches : bool, default True
        Else a match must be strictly before (or after).
    suffixes : (str, str), default ("_x", "_y")
        Appended to the non-key fields both sides have.

    Returns
    -------
    PartitionedArray
    """
    from .core import PartitionedArray

    left, right = _table(left, "left"), _table(right, "right")
    spec = _spec(left.dtype, right.dtype, on, by, direction, tolerance, allow_exact_matches, suffixes)
    # the plan costs (map outputs) x (left partitions) buckets: a small array in very many
    # partitions is joined in as many as its size calls for, then cut back into left's
    few = coalesced(left)
    joined = _joined(few, coalesced(right, few.npartitions + 1), spec)
    if few is left:
        return joined
    node, lengths = left._node, left._node.partition_lengths
    assert lengths is not None  # coalescing needs (and learns) them
    return PartitionedArray(Node(
        "merge_asof", _same, [realign(joined._node, lengths)], node.npartitions, spec.dtype, (), lengths,
        align_key=node.align_key, partitioner=joined.partitioner,
        detail=f"cut back into {node.npartitions} partitions", uses=lambda used: [used]))


def _same(block: np.ndarray) -> np.ndarray:
    return block


def _joined(left, right, spec: Spec):
    """The join itself, in left's partitions (the plan in the module's docstring)."""
    from .core import PartitionedArray

    on, direction = spec.on, spec.direction
    lnode, rnode = left._node, right._node
    m = lnode.npartitions

    # column pruning: each side is read with its key fields and the fields the result's readers
    # use; the right rows travel (moved, then merged into the carries) with those only
    keys = frozenset((on, *spec.by))
    bounds = per_partition("merge_asof:left bounds", lambda p, block: _sorted_bounds(p, block, on, "left"), lnode,
                           pass_index=True, uses=lambda used: [frozenset((on,))])
    ranges = Node("merge_asof:left ranges", lambda parts: _ranges(parts, on, left.dtype[on]),
                  [AllToOne(bounds)], 1, VALUE, (), None, detail=f"on {on!r}")

    def write(p, block, r):
        _sorted_bounds(p, block, on, "right")  # raises unless sorted and without NaN
        segments = _segments(block[on], r.points)
        target = np.full(2 * len(r.points) + 1, m)  # of each segment: m for rows that stay
        target[0::2] = np.where(r.inside >= 0, r.inside, m)
        moved = buckets(block, target[segments], m + 1)
        summary = block[_ends(block, segments, spec.by)]
        return Buckets(moved.rows, moved.offsets[:m + 1], extra=(summary,))

    def passed_on(used):  # a node of right rows reads right's fields its readers read
        return [used, None]

    moved = Node("merge_asof:write", write, [OneToOne(rnode), Broadcast(ranges)], rnode.npartitions, VALUE, (),
                 None, pass_index=True, detail=f"rows inside left's ranges to {m} partitions, and a summary",
                 uses=passed_on)
    moved.persist_level = "memory"  # as every shuffle's map side: in the block store, spillable
    carries = Node("merge_asof:carries", lambda parts, r: _carries(parts, r, spec),
                   [OneBucket(moved, m), Broadcast(ranges)], 1, VALUE, (), None, detail="merge", uses=passed_on)
    left_of, right_of = ({name: f for f, name in fields} for fields in (spec.left_fields, spec.right_fields))

    def uses(used):
        if used is None:
            return [None, None, None, None]
        right = keys | {right_of[n] for n in used if n in right_of}
        return [keys | {left_of[n] for n in used if n in left_of}, right, None, right]

    def join(p, block, pieces, r, c):
        return _join(block, _candidates(pieces, r.first[p], r.last[p], c), spec)

    detail = f"on {on!r}" + (f", by {list(spec.by)}" if spec.by else "") + f", {direction}"
    return PartitionedArray(Node(
        "merge_asof", join, [OneToOne(lnode), ShuffleDependency(moved), Broadcast(ranges), Broadcast(carries)],
        m, spec.dtype, (), lnode.partition_lengths, pass_index=True, align_key=lnode.align_key,
        partitioner=_kept_partitioner(left.partitioner, spec), detail=detail, uses=uses))


# -- arguments --------------------------------------------------------------------------------------
def _table(x, side: str):
    from .core import PartitionedArray, from_numpy

    if isinstance(x, np.ndarray):
        x = from_numpy(x)
    if not isinstance(x, PartitionedArray):
        raise TypeError(f"merge_asof: {side} must be a structured PartitionedArray, got {type(x).__name__}")
    if not x.dtype.names:
        raise TypeError(f"merge_asof: {side} must be a structured array (one field a column), got {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"merge_asof: {side} must be 1-D, got {x.ndim}-D")
    return x


def _spec(ldtype, rdtype, on, by, direction, tolerance, exact, suffixes) -> Spec:
    if not isinstance(on, str):
        raise TypeError(f"merge_asof: on must be one field name, got {on!r}")
    by = () if by is None else (by,) if isinstance(by, str) else tuple(by)
    if not all(isinstance(b, str) for b in by):
        raise TypeError(f"merge_asof: by must be a field name or a list of them, got {by!r}")
    if on in by or len(set(by)) != len(by):
        raise ValueError(f"merge_asof: by {list(by)} repeats a field or contains on ({on!r})")
    for name in (on, *by):
        for side, dtype in (("left", ldtype), ("right", rdtype)):
            if name not in dtype.names:
                raise KeyError(f"merge_asof: field {name!r} not found in {side}; "
                               f"its fields are: {', '.join(dtype.names)}")
    key = ldtype[on]
    if key.kind not in "iufmM":
        raise TypeError(f"merge_asof: on field {on!r} must be numeric, datetime64 or timedelta64, not {key}")
    for name in (on, *by):
        if mixes_zones(ldtype[name], rdtype[name]):
            raise TypeError(f"merge_asof: field {name!r} is {zoned_name(ldtype[name])} in left but "
                            f"{zoned_name(rdtype[name])} in right: one is timezone-aware, the other not")
    if rdtype[on] != key:
        raise TypeError(f"merge_asof: on field {on!r} is {key} in left but {rdtype[on]} in right; "
                        "cast one side (pandas requires the same dtype too)")
    for b in by:
        lt, rt = ldtype[b], rdtype[b]
        if lt != rt and not (lt.kind == rt.kind and lt.kind in "SU"):
            raise TypeError(f"merge_asof: by field {b!r} is {lt} in left but {rt} in right; cast one side")
    if direction not in DIRECTIONS:
        raise ValueError(f"merge_asof: direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    if not isinstance(exact, (bool, np.bool_)):
        raise ArgumentTypeError(f"merge_asof: allow_exact_matches must be True or False, got {exact!r}")
    tolerance = None if tolerance is None else _tolerance(tolerance, key)
    left_fields, right_fields, dtype = _layout(ldtype, rdtype, on, by, suffixes)
    return Spec(on, by, direction, tolerance, bool(exact), left_fields, right_fields, dtype)


def _tolerance(tolerance, key: np.dtype):
    """The tolerance as the key gaps are measured: uint64 key units for integer and datetime keys,
    float64 for float keys."""
    if key.kind in "mM":
        if hasattr(tolerance, "to_timedelta64"):  # pandas.Timedelta
            tolerance = tolerance.to_timedelta64()
        if not isinstance(tolerance, (np.timedelta64, datetime.timedelta)):
            raise ArgumentTypeError(f"merge_asof: tolerance for a {key} key must be a timedelta, got {tolerance!r}")
        tolerance = np.timedelta64(tolerance)
        if np.isnat(tolerance) or tolerance < np.timedelta64(0):
            raise ValueError(f"merge_asof: tolerance must be a non-negative timedelta, got {tolerance!r}")
        unit = np.dtype(key.str.replace("M8", "m8"))
        return np.uint64(tolerance.astype(unit).astype(np.int64))  # truncated: gaps are whole units
    integral = isinstance(tolerance, (int, np.integer)) and not isinstance(tolerance, (bool, np.bool_))
    number = integral or isinstance(tolerance, (float, np.floating))
    if not number or (key.kind in "iu" and not integral):
        need = "an integer" if key.kind in "iu" else "a number"
        raise ValueError(f"merge_asof: tolerance for a {key} key must be {need}, got {tolerance!r}")
    if not tolerance >= 0:
        raise ValueError(f"merge_asof: tolerance must be non-negative, got {tolerance!r}")
    return np.uint64(min(int(tolerance), 2**64 - 1)) if key.kind in "iu" else np.float64(tolerance)


def _layout(ldtype, rdtype, on, by, suffixes):
    """Output fields: left's, then right's except ``on`` and ``by``; names both sides have get
    ``suffixes``. Right fields that may be missing get a dtype with a missing value."""
    try:
        lsuffix, rsuffix = ("" if s is None else str(s) for s in suffixes)
    except (TypeError, ValueError):
        raise ValueError(f"merge_asof: suffixes must be a pair of strings, got {suffixes!r}") from None
    payload = [f for f in rdtype.names if f != on and f not in by]
    overlap = set(ldtype.names) & set(payload)
    if overlap and not (lsuffix or rsuffix):
        raise ValueError(f"merge_asof: fields {sorted(overlap)} are on both sides and suffixes are empty")
    left_fields = tuple((f, f + lsuffix if f in overlap else f) for f in ldtype.names)
    right_fields = tuple((f, f + rsuffix if f in overlap else f) for f in payload)
    for f in payload:
        if rdtype[f].kind not in "biufcmMSU":
            raise TypeError(f"merge_asof: right field {f!r} has dtype {rdtype[f]}, which has no missing value")
    names = [out for _, out in left_fields + right_fields]
    if len(set(names)) != len(names):
        raise ValueError(f"merge_asof: the suffixes {suffixes!r} give repeated field names: {names}")
    dtype = np.dtype([(out, ldtype[f]) for f, out in left_fields] +
                     [(out, nullable(rdtype[f])) for f, out in right_fields])
    return left_fields, right_fields, dtype


def _kept_partitioner(placed, spec: Spec):
    """Left's partitioner still describes the result unless a key field was renamed."""
    if placed is None:
        return None
    keys = (placed.key,) if isinstance(placed.key, str) else tuple(placed.key or ())
    renamed = {f for f, out in spec.left_fields if f != out}
    return None if renamed & set(keys) else placed


# -- per-partition summaries and the two value nodes ------------------------------------------------
def _sorted_bounds(p: int, block: np.ndarray, on: str, side: str):
    """``(first, last)`` key of a partition (None when empty), checking it is sorted, without NaN."""
    keys = block[on]
    if not len(keys):
        return None
    missing = is_nan(keys)
    if missing.any():
        row = int(np.argmax(missing))
        raise ValueError(f"merge_asof: {side} has a missing value in {on!r} (partition {p}, row {row}); "
                         "keys must not be NaN or NaT, as in pandas")
    down = keys[1:] < keys[:-1]
    if down.any():
        row = int(np.argmax(down)) + 1
        raise ValueError(f"merge_asof: {side} is not sorted by {on!r}: in partition {p}, row {row} ({keys[row]}) "
                         f"comes after {keys[row - 1]}; sort it first ({side}.sort({on!r}))")
    return keys[0], keys[-1]


def _check_across(bounds: list, on: str, side: str) -> None:
    """Every non-empty partition starts at or after the end of the one before."""
    before = None
    for p, b in enumerate(bounds):
        if b is None:
            continue
        if before is not None and b[0] < bounds[before][1]:
            raise ValueError(f"merge_asof: {side} is not sorted by {on!r}: partition {p} starts at {b[0]}, "
                             f"below the end of partition {before} ({bounds[before][1]}); sort it first "
                             f"({side}.sort({on!r}))")
        before = p


def _ranges(bounds: list, on: str, key: np.dtype) -> Ranges:
    _check_across(bounds, on, "left")
    full = np.array([p for p, b in enumerate(bounds) if b is not None], dtype=np.int64)
    firsts = np.array([bounds[p][0] for p in full], dtype=key)
    lasts = np.array([bounds[p][1] for p in full], dtype=key)
    points = np.unique(np.concatenate([firsts, lasts]))
    first = np.full(len(bounds), -1, np.int64)
    last = np.full(len(bounds), -1, np.int64)
    first[full] = np.searchsorted(points, firsts)
    last[full] = np.searchsorted(points, lasts)
    inside = np.full(len(points) + 1, -1, np.int64)
    wide = first[full] < last[full]
    inside[last[full][wide]] = full[wide]  # the open segment ending at b_p is (a_p, b_p)
    return Ranges(points, first, last, inside)


def _segments(keys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Segment of each key: ``2k + 1`` on point ``k``, ``2k`` strictly between points ``k - 1``
    and ``k``."""
    from rdarray._core.ranges import count_below

    on_point = np.empty(len(keys), np.uint8)
    k = count_below(np.ascontiguousarray(_scan_keys(points)), _scan_keys(keys), on_point)
    return 2 * k + on_point


def _groups(columns: list, n: int) -> tuple[np.ndarray, int]:
    """Group id of each of ``n`` rows and the number of groups; one group without key columns."""
    if not columns:
        return np.zeros(n, np.int64), 1
    ids, ngroups, _ = hashing.factorize(columns)
    return ids, ngroups


def _ends(rows: np.ndarray, segments: np.ndarray, by: tuple) -> np.ndarray:
    """Mask of the first and the last row of every (segment, group). The rows are sorted by key,
    so each segment is one run of rows, factorized on its own (one key column for one ``by``)."""
    keep = np.zeros(len(rows), bool)
    cuts = np.concatenate([[0], np.flatnonzero(segments[1:] != segments[:-1]) + 1, [len(rows)]])
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        if hi == lo:
            continue
        if not by:
            keep[lo] = keep[hi - 1] = True
            continue
        ids, n, first = hashing.factorize([rows[b][lo:hi] for b in by])
        keep[lo + first] = True
        keep[lo + hashing.group_first_row(ids, n, last=True)] = True
    return keep


def _carries(parts: list, ranges: Ranges, spec: Spec) -> Carries:
    """The right partitions' summaries merged (a partition's summary starts with its first row and
    ends with its last, so they show whether right is sorted across partitions)."""
    on = spec.on
    _check_across([(rows[on][0], rows[on][-1]) if len(rows) else None for rows in parts], on, "right")
    rows = np.concatenate(parts)
    segments = _segments(rows[on], ranges.points)
    keep = _ends(rows, segments, spec.by)
    rows, segments = rows[keep], segments[keep]
    group, ngroups = _groups([rows[b] for b in spec.by], len(rows))
    width = 2 * len(ranges.points) + 1
    keys = group * width + segments
    order = np.argsort(keys, kind="stable")
    return Carries(rows, segments, keys[order], order, np.arange(ngroups, dtype=np.int64) * width, width)


def _candidates(pieces: list, i: int, j: int, carries: Carries) -> np.ndarray:
    """The right rows a left partition with range ends on points ``i`` and ``j`` may match, in
    right order: per group the last below, the rows on point ``i``, the rows inside (shuffled),
    the rows on point ``j``, per group the first above."""
    if i < 0:
        return carries.rows[:0]
    below = np.sort(np.concatenate([carries.last_below(2 * i), carries.on_point(2 * i + 1)]))
    on_last = carries.on_point(2 * j + 1) if j > i else np.empty(0, np.int64)
    above = np.sort(np.concatenate([on_last, carries.first_from(2 * j + 2)]))
    return np.concatenate([carries.rows[below], *pieces, carries.rows[above]])


# -- the join of one partition ----------------------------------------------------------------------
def _join(block, right, spec: Spec) -> Table:
    """Left rows ``block`` with their matches among ``right`` (sorted by the key): left's fields
    shared, right's gathered."""
    if not len(block):
        return Table.from_records(np.empty(0, spec.dtype))
    match = _match(block, right, spec)
    present = right.dtype.names  # right's fields the plan reads (column pruning)
    new = {name: take(right[f], match, spec.dtype[name]) for f, name in spec.right_fields if f in present}
    return with_fields(block, spec.dtype, {name: f for f, name in spec.left_fields}, new)


def _match(left: np.ndarray, right: np.ndarray, spec: Spec) -> np.ndarray:
    """Index in ``right`` of each left row's match, -1 where none: keys numbered by one factorize
    over both sides, then one merge pass of the as-of kernel per direction."""
    from rdarray._core.asof import asof_match

    n, r = len(left), len(right)
    if not r:
        return np.full(n, -1, np.int64)
    lkeys, rkeys = left[spec.on], right[spec.on]
    ids, ngroups = _groups([np.concatenate([right[b], left[b]]) for b in spec.by], r + n)
    rgroup, lgroup = ids[:r], ids[r:]

    def scan(forward: bool) -> np.ndarray:
        found = asof_match(_scan_keys(lkeys), lgroup, _scan_keys(rkeys), rgroup, ngroups, spec.exact, forward)
        return _within(found, lkeys, rkeys, spec, below=not forward)

    if spec.direction != "nearest":
        return scan(spec.direction == "forward")
    back, ahead = scan(False), scan(True)
    # as pandas: backward unless forward is strictly closer (or a gap is NaN: inf - inf)
    closer = (ahead >= 0) & ((back < 0) | ~(_gap(lkeys, rkeys[back]) <= _gap(rkeys[ahead], lkeys)))
    return np.where(closer, ahead, back)


def _scan_keys(keys: np.ndarray) -> np.ndarray:
    """Keys in a dtype of the as-of kernel, ordered alike: int64 (also datetimes, which have no
    NaT here), uint64 or float64."""
    if keys.dtype.kind in "mM":
        return keys.view(np.int64)
    return keys.astype({"i": np.int64, "u": np.uint64}.get(keys.dtype.kind, np.float64), copy=False)


def _within(match: np.ndarray, lkeys, rkeys, spec: Spec, below: bool) -> np.ndarray:
    """``match`` with those farther than the tolerance dropped (-1); a NaN gap (inf - inf) is
    not farther, as in pandas."""
    if spec.tolerance is None:
        return match
    found = rkeys[match]  # -1 picks a real row; it is dropped again below
    gap = _gap(lkeys, found) if below else _gap(found, lkeys)
    return np.where((match >= 0) & ~(gap > spec.tolerance), match, -1)


def _gap(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``hi - lo`` where ``hi >= lo``: float64 for floats, else uint64 key units (exact: the true gap
    is below 2**64, so the difference modulo 2**64 is the gap)."""
    if hi.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            return hi.astype(np.float64) - lo.astype(np.float64)
    wide = np.uint64 if hi.dtype.kind == "u" else np.int64
    return hi.astype(wide).astype(np.uint64) - lo.astype(wide).astype(np.uint64)
