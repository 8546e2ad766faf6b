"""Shuffle buckets: the output of one map task, the rows of its partition grouped by target.

In memory they are one scattered array and its row offsets, so bucket ``q`` is a view. Spilled,
they are one file of consecutive partition frames, one per bucket, and a reduce task reads and
decodes only its own bucket from each map output.
"""

from __future__ import annotations

import mmap

import numpy as np


class Buckets:
    """Rows grouped by target partition: bucket ``q`` is ``rows[offsets[q]:offsets[q + 1]]``;
    the ``extra`` arrays, if any, are the buckets after those (a summary written in the same pass)."""

    __slots__ = ("rows", "offsets", "extra")

    def __init__(self, rows: np.ndarray, offsets: np.ndarray, extra: tuple = ()):
        self.rows = rows
        self.offsets = offsets
        self.extra = tuple(extra)

    def __getitem__(self, q: int) -> np.ndarray:
        k = len(self.offsets) - 1
        return self.rows[self.offsets[q]:self.offsets[q + 1]] if q < k else self.extra[q - k]

    def __len__(self) -> int:
        return len(self.offsets) - 1 + len(self.extra)

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes + self.offsets.nbytes + sum(e.nbytes for e in self.extra)

    def sizes(self) -> list[int]:
        """The decoded size in bytes of every bucket, as a reduce task reading it holds it: what
        ``self[q].nbytes`` is, without making the views."""
        row = self.rows.itemsize * int(np.prod(self.rows.shape[1:], dtype=np.int64))
        counts = np.diff(np.asarray(self.offsets, dtype=np.int64))
        return [int(n) * row for n in counts] + [int(getattr(e, "nbytes", 0)) for e in self.extra]


class SpilledBuckets:
    """Buckets in a spill file: bucket ``q`` is the frame at bytes ``bounds[q]:bounds[q + 1]``."""

    __slots__ = ("path", "bounds")

    def __init__(self, path: str, bounds: list[int]):
        self.path = path
        self.bounds = bounds

    def __getitem__(self, q: int) -> np.ndarray:
        from .frame import decode_block

        start, stop = self.bounds[q], self.bounds[q + 1]
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            # released explicitly: a traceback holding the view would otherwise make closing the
            # map fail, and a BufferError would replace the real error (CorruptDataError, Ctrl-C)
            with memoryview(mapped)[start:stop] as view:
                return decode_block(view)

    def frame(self, q: int) -> bytes:
        """Bucket ``q``'s frame as stored (compressed)."""
        with open(self.path, "rb") as f:
            f.seek(self.bounds[q])
            return f.read(self.bounds[q + 1] - self.bounds[q])

    def __len__(self) -> int:
        return len(self.bounds) - 1


def write_buckets(f, buckets: Buckets) -> list[int]:
    """Write one frame per bucket to the open file ``f``; the byte bounds of the frames."""
    from .frame import encode_block

    bounds = [0]
    for q in range(len(buckets)):
        frame = encode_block(buckets[q])
        f.write(frame)
        bounds.append(bounds[-1] + frame.nbytes)
    return bounds
