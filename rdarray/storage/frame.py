"""Partition frames: one NumPy array <-> one self-describing, checksummed byte string.

Thin layer over the Cython kernel ``rdarray._core.frame``: it validates the arguments and
dispatches; the format itself is documented in docs/FORMAT.md. A frame holds its owner (the
saved array and partition it belongs to, if any), the dtype (as JSON, never pickled), the
shape, the codec settings and C-Blosc2 chunks, with CRC-32 checksums of the header and of the
payload. Decoding never trusts the buffer: a truncated,
corrupted or forged frame raises ``CorruptDataError``.
"""
from __future__ import annotations

import errno
import json
import mmap
import os
import pickle
import stat
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

import rdarray._core.frame as _k
from rdarray._core.text import check as check_offsets
from rdarray.dtypes import plain
from rdarray.errors import CorruptDataError
from rdarray.table import Table, as_table, names_of
from rdarray.text import Text, array_dtype, is_text

MAGIC: bytes = _k.MAGIC
VERSION: int = _k.VERSION
MAX_CHUNK_BYTES: int = _k.MAX_CHUNK_BYTES
#: codec and shuffle filter names -> their Blosc2 ids
CODECS: dict[str, int] = _k.CODECS
FILTERS: dict[str, int] = _k.FILTERS

_CODEC_NAMES = {v: k for k, v in CODECS.items()}
_FILTER_NAMES = {v: k for k, v in FILTERS.items()}


def check_codec(codec: Any, filter: Any, clevel: Any) -> tuple[int, int, int]:
    """The Blosc2 ids of ``codec`` and ``filter`` (names, any case) and ``clevel`` (0..9) as an
    int; an unknown name or a bad level raises ValueError naming it."""
    return _choice("codec", codec, CODECS), _choice("filter", filter, FILTERS), _check_clevel(clevel)


def _choice(kind: str, value: Any, table: dict[str, int]) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key not in table:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(table)}")
    return table[key]


def _check_clevel(clevel: Any) -> int:
    if isinstance(clevel, bool) or not isinstance(clevel, (int, np.integer)) or not 0 <= clevel <= 9:
        raise ValueError(f"clevel must be an integer in 0..9, got {clevel!r}")
    return int(clevel)


@dataclass(frozen=True)
class FrameHeader:
    """What a frame's header says, every field already validated."""

    version: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    nbytes: int          # uncompressed size of the array
    cbytes: int          # size of the compressed payload
    header_len: int      # offset of the payload; the frame is header_len + cbytes bytes
    codec: str
    filter: str
    clevel: int
    typesize: int        # what the shuffle filter was given
    chunk_bytes: int     # uncompressed bytes per Blosc2 chunk (the last may be shorter)
    nchunks: int
    payload_checksum: int
    array_id: bytes | None  # version 2: the saved array the frame belongs to (None: none)
    partition: int          # its partition index in that array (0 when none)


def encode(array: Any, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle",
           chunk_bytes: int | None = None, owner: tuple[bytes, int] | None = None) -> np.ndarray:
    """Frame of ``array`` as a 1-D ``uint8`` array.

    C- and Fortran-contiguous arrays are compressed straight from their memory (the frame
    records the order); any other layout is first made C-contiguous, one copy.
    ``chunk_bytes`` (default: the Blosc2 maximum, about 2 GiB) is the uncompressed size of
    each chunk, rounded down to whole items; smaller values only serve tests.
    ``owner``: ``(array_id, partition)`` of a saved array's partition (a 16-byte id, not all
    zero), written in the header so that a frame moved to another array or index is refused.
    """
    code, filt, level = check_codec(codec, filter, clevel)
    if chunk_bytes is None:
        chunk_bytes = MAX_CHUNK_BYTES
    if (isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer))
            or not 1 <= chunk_bytes <= MAX_CHUNK_BYTES):
        raise ValueError(f"chunk_bytes must be an integer in 1..{MAX_CHUNK_BYTES}, "
                         f"got {chunk_bytes!r}")
    array_id, partition = owner if owner is not None else (_k.NO_OWNER, 0)
    if owner is not None and (not isinstance(array_id, bytes) or len(array_id) != 16 or array_id == _k.NO_OWNER
                              or not isinstance(partition, int) or not 0 <= partition < 2**63):
        raise ValueError(f"owner must be (16-byte array id, not all zero; partition index >= 0), got {owner!r}")
    a = np.asarray(array)
    if a.dtype.hasobject:
        raise TypeError(f"cannot compress dtype {a.dtype}: it holds Python object pointers, not data")
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = np.ascontiguousarray(a)
    if plain(a.dtype) is not a.dtype:  # a time zone: the array's node keeps it, the frame has no place for it
        a = a.view(plain(a.dtype))
    return _k.encode(a, code, level, filt, int(chunk_bytes), array_id, partition)


def decode(buffer: Any) -> np.ndarray:
    """The array in ``buffer`` (bytes, bytearray, memoryview, mmap, uint8 array, ...),
    which must hold exactly one frame; a bad frame raises ``CorruptDataError``."""
    return _k.decode(buffer)


#: the start of a table frame: a JSON header, then one frame per field (``encode_block``)
TABLE_MAGIC = b"\x89RDT\r\n\x1a\n"
#: the start of a text frame: a JSON header, then the frames of offsets, bytes and missing flags
TEXT_MAGIC = b"\x89RDS\r\n\x1a\n"
_CONTAINER_HEADER = struct.Struct("<8sI")  # magic, JSON header length


def _container(magic: bytes, header: dict, frames: list[np.ndarray]) -> np.ndarray:
    """``magic``, a little-endian uint32 length, the JSON ``header`` with ``"bounds"`` (each
    frame's byte range after the header) added, then ``frames`` one after another."""
    bounds = np.concatenate([[0], np.cumsum([f.nbytes for f in frames])]).astype(int).tolist()
    text = json.dumps({**header, "bounds": bounds}).encode()
    out = np.empty(_CONTAINER_HEADER.size + len(text) + bounds[-1], np.uint8)
    out[:_CONTAINER_HEADER.size] = np.frombuffer(_CONTAINER_HEADER.pack(magic, len(text)), np.uint8)
    start = _CONTAINER_HEADER.size + len(text)
    out[_CONTAINER_HEADER.size:start] = np.frombuffer(text, np.uint8)
    for frame, lo, hi in zip(frames, bounds, bounds[1:]):
        out[start + lo:start + hi] = frame
    return out


def _contents(view: memoryview, what: str, parts: int | None = None) -> tuple[dict, list[tuple[int, int]]]:
    """The header of a container frame and each of its frames' byte range in ``view``; a bad
    header raises CorruptDataError (``parts``: how many frames it must hold, when known)."""
    try:
        _, size = _CONTAINER_HEADER.unpack_from(view)
        start = _CONTAINER_HEADER.size + size
        header = json.loads(bytes(view[_CONTAINER_HEADER.size:start]))
        bounds = header["bounds"]
        ok = (isinstance(header, dict) and isinstance(bounds, list) and len(bounds) >= 2 and bounds[0] == 0
              and all(isinstance(b, int) for b in bounds) and all(a <= b for a, b in zip(bounds, bounds[1:]))
              and start + bounds[-1] == len(view) and (parts is None or len(bounds) == parts + 1))
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise CorruptDataError(f"a {what} frame's header is unreadable: {exc}") from None
    if not ok:
        raise CorruptDataError(f"a {what} frame's header does not describe its parts")
    return header, [(start + lo, start + hi) for lo, hi in zip(bounds, bounds[1:])]


def _encode_column(column: Any, codec: str, clevel: int, filter: str,
                   owner: tuple[bytes, int] | None = None) -> np.ndarray:
    """One field's or one 1-D partition's frame: text as a *text frame* (``TEXT_MAGIC``, a
    JSON header ``{"rows", "missing", "bounds"}``, then the frames of its offsets from 0, its
    bytes and, where a row is missing, its bool missing flags), anything else as ``encode``.
    ``owner``: as ``encode``, written in every frame inside."""
    if not isinstance(column, Text):
        if isinstance(column, np.ndarray) and column.dtype.metadata and column.dtype.names is None:
            column = column.view(np.dtype(column.dtype.str))  # a frame keeps no metadata (the dtype's owner does)
        return encode(column, codec, clevel, filter, owner=owner)
    first, last = int(column.offsets[0]), int(column.offsets[-1])
    parts = [column.offsets - first, column.data[first:last]]
    if column.missing is not None:
        parts.append(column.missing)
    return _container(TEXT_MAGIC, {"rows": len(column), "missing": column.missing is not None},
                      [encode(part, codec, clevel, filter, owner=owner) for part in parts])


def _check_owner(view: memoryview, owner: tuple[bytes | None, int] | None) -> None:
    """A frame inside a container must carry ``owner`` (None: not checked)."""
    if owner is None:
        return
    header = read_header(view)
    if (header.array_id, header.partition) != owner:
        which = "this array" if header.array_id == owner[0] else f"array {_hex(header.array_id)}"
        raise CorruptDataError(f"holds partition {header.partition} of {which}, not partition {owner[1]} of "
                               f"array {_hex(owner[0])}: a moved or foreign frame")


def _plain(view: memoryview, owner, expect: tuple[np.dtype, tuple[int, ...]] | None, decode: bool):
    """The array of a plain frame inside a container, its owner and dtype and shape checked."""
    if owner is not None or expect is not None:
        header = read_header(view)
        _check_owner(view, owner)
        if expect is not None and (header.dtype, header.shape) != expect:
            raise CorruptDataError(f"holds {header.dtype} {header.shape}; expected {expect[0]} {expect[1]}")
    return _k.decode(view) if decode else None


def _decode_column(view: memoryview, owner: tuple[bytes | None, int] | None = None,
                   expect: tuple[np.dtype, tuple[int, ...]] | None = None, decode: bool = True):
    """The array or Text of a frame of ``_encode_column``. ``owner``: what every frame inside
    must carry; ``expect``: the dtype (``TEXT`` for text) and shape it must hold; ``decode=False``:
    check headers only (returns None)."""
    if bytes(view[:len(TEXT_MAGIC)]) != TEXT_MAGIC:
        if expect is not None and is_text(expect[0]):
            raise CorruptDataError("holds no text frame where text was expected")
        return _plain(view, owner, expect, decode)
    if expect is not None and (not is_text(expect[0]) or len(expect[1]) != 1):
        raise CorruptDataError(f"holds a text frame; expected {expect[0]} {expect[1]}")
    header, ranges = _contents(view, "text")
    rows, missing = header.get("rows"), header.get("missing")
    if (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0 or not isinstance(missing, bool)
            or len(ranges) != 2 + missing):
        raise CorruptDataError("a text frame's header does not describe its parts")
    if expect is not None and rows != expect[1][0]:
        raise CorruptDataError(f"holds {rows} rows of text; expected {expect[1][0]}")
    parts = []
    for lo, hi in ranges:
        with view[lo:hi] as part:
            parts.append(_plain(part, owner, None, decode))
    if not decode:
        return None
    offsets, data = parts[0], parts[1]
    flags = parts[2] if missing else None
    if (offsets.dtype != np.int64 or offsets.shape != (rows + 1,) or data.dtype != np.uint8 or data.ndim != 1
            or (flags is not None and (flags.dtype != bool or flags.shape != (rows,)))):
        raise CorruptDataError("a text frame's parts are not its offsets, bytes and missing flags")
    try:
        check_offsets(offsets, len(data))
    except ValueError as exc:
        raise CorruptDataError(f"a text frame's offsets are invalid: {exc}") from None
    return Text(offsets, data, flags)


def encode_block(block: Any, codec: str = "lz4", clevel: int = 5, filter: str = "shuffle",
                 owner: tuple[bytes, int] | None = None) -> np.ndarray:
    """A partition's frame, as the block store keeps and sends it: a ``Table`` as a *table
    frame* (``TABLE_MAGIC``, a little-endian uint32 length, a JSON header ``{"names", "rows",
    "bounds"}`` giving each field's frame's byte range after the header, then the frames of its
    fields, each a partition frame or a text frame: no records are assembled); text as a text
    frame; anything else as ``encode``. ``owner``: as ``encode``, written in every frame inside
    (a saved array's partition)."""
    if not isinstance(block, Table):
        return _encode_column(block, codec, clevel, filter, owner)
    frames = [_encode_column(block.column(name), codec, clevel, filter, owner) for name in names_of(block.dtype)]
    return _container(TABLE_MAGIC, {"names": list(names_of(block.dtype)), "rows": len(block)}, frames)


def decode_block(buffer: Any):
    """The partition in a frame of ``encode_block`` (or of ``encode``): a table frame as a
    ``Table``, a text frame as ``Text``, a 1-D structured array split into a Table; a bad frame
    raises ``CorruptDataError``. Every view it takes of ``buffer`` is released before it returns
    or raises, so that a caller may close a memory map under it (a view left in a traceback would
    make that fail)."""
    with memoryview(buffer) as whole, whole.cast("B") as view:
        if bytes(view[:len(TABLE_MAGIC)]) != TABLE_MAGIC:
            return as_table(_decode_column(view))
        return _decode_table(view)


def _decode_table(view: memoryview, owner: tuple[bytes | None, int] | None = None,
                  expect: tuple[np.dtype, tuple[int, ...]] | None = None, decode: bool = True) -> Table | None:
    header, ranges = _contents(view, "table")
    names, rows = header.get("names"), header.get("rows")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names) and isinstance(rows, int) and not isinstance(rows, bool)
            and rows >= 0 and len(ranges) == len(names)):
        raise CorruptDataError("a table frame's header does not describe its fields")
    if expect is not None and (tuple(names) != names_of(expect[0]) or (rows, *expect[1][1:]) != expect[1]):
        raise CorruptDataError(f"holds a table of fields {names} and {rows} rows; expected fields "
                               f"{list(names_of(expect[0]))} and {expect[1][0]} rows")
    columns = {}
    for name, (lo, hi) in zip(names, ranges):
        want = None
        if expect is not None:
            field = expect[0][name]
            want = (array_dtype(field.base), (rows, *field.shape))
        with view[lo:hi] as part:
            columns[name] = _decode_column(part, owner, want, decode)
    if not decode:
        return None
    if any(col.ndim == 0 or len(col) != rows for col in columns.values()):
        raise CorruptDataError(f"a table frame's fields are not all {rows} rows long")
    table = Table.from_columns(columns)
    return table if expect is None else table.with_dtype(expect[0])


def read_saved(path: str, expect: tuple[np.dtype, tuple[int, ...]], owner: tuple[bytes | None, int],
               dir_fd: int | None = None, header_only: bool = False):
    """The partition in a saved array's frame file of ``encode_block`` (a table or text frame, or
    a partition frame), decoded straight from a memory map of the file; as ``read_file``, every
    frame inside must carry ``owner`` and the partition must be ``expect`` (dtype, shape), checked
    from the headers before anything is decompressed. ``header_only``: check and stop (None)."""
    fd = open_file(path if dir_fd is None else os.path.basename(path), dir_fd, path)
    try:
        if os.fstat(fd).st_size == 0:
            raise CorruptDataError(f"{path!r} is empty: no frame")
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
            try:
                is_tbl = bytes(view[:len(TABLE_MAGIC)]) == TABLE_MAGIC
                if is_tbl != (expect[0].names is not None):
                    raise CorruptDataError(f"holds {'a' if is_tbl else 'no'} table frame; expected "
                                           f"{expect[0]} {expect[1]}")
                for decode in (False, True)[:1 if header_only else 2]:
                    if is_tbl:
                        block = _decode_table(view, owner, expect, decode)
                    else:
                        block = _decode_column(view, owner, (array_dtype(expect[0]), expect[1]), decode)
                return None if header_only else block
            except CorruptDataError as exc:
                raise CorruptDataError(f"{path!r}: {exc}") from None
    finally:
        os.close(fd)


def read_block(path: str):
    """The partition in a frame file written by the block store (``encode_block``), decoded
    straight from a memory map of the file."""
    fd = open_file(path)
    try:
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
            return decode_block(view)
    finally:
        os.close(fd)


def open_file(path: str, dir_fd: int | None = None, name: str | None = None) -> int:
    """A read-only descriptor of the regular file ``path`` (relative to ``dir_fd`` if given;
    ``name`` names it in messages, ``path`` by default).

    A symbolic link is refused (not followed), and so is anything but a regular file (a FIFO,
    a device): it is opened without blocking and checked before a byte is read.
    """
    name = path if name is None else name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorruptDataError(f"{name!r} is a symbolic link; rdarray never writes one") from None
        if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket, or a FIFO nothing writes to
            raise CorruptDataError(f"{name!r} is not a regular file") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CorruptDataError(f"{name!r} is not a regular file")
    return fd


def read_file(path: str, expect: tuple[np.dtype, tuple[int, ...]] | None = None,
              owner: tuple[bytes | None, int] | None = None, dir_fd: int | None = None,
              header_only: bool = False) -> np.ndarray | None:
    """The array in a frame file, decoded straight from a memory map of the file (no read copy).

    ``expect``: the dtype and shape the caller knows the array has; ``owner``: the array id and
    partition index the frame must carry (``(None, 0)``: none). A frame saying otherwise is
    rejected from its header, before anything is allocated or decompressed. ``dir_fd``: open the
    file by its name in that directory (``path`` names it in messages). ``header_only``: check
    the header and stop (returns None).
    """
    fd = open_file(path if dir_fd is None else os.path.basename(path), dir_fd, path)
    try:
        if os.fstat(fd).st_size == 0:
            raise CorruptDataError(f"{path!r} is empty: no frame")
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
            if expect is not None or owner is not None:
                header = read_header(mapped)
                if expect is not None and (header.dtype, header.shape) != expect:
                    raise CorruptDataError(f"{path!r} holds {header.dtype} {header.shape}; expected "
                                           f"{expect[0]} {expect[1]}")
                if owner is not None and (header.array_id, header.partition) != owner:
                    which = "this array" if header.array_id == owner[0] else f"array {_hex(header.array_id)}"
                    raise CorruptDataError(f"{path!r} is partition {header.partition} of {which}, not partition "
                                           f"{owner[1]} of array {_hex(owner[0])}: a moved or foreign file")
            return None if header_only else decode(mapped)
    finally:
        os.close(fd)


def _hex(array_id: bytes | None) -> str:
    return "none" if array_id is None else array_id.hex()


def read_header(buffer: Any) -> FrameHeader:
    """The validated header at the start of ``buffer``; the payload is neither needed nor
    checked (``decode`` checks it)."""
    h = _k.read_header(buffer)
    h["codec"], h["filter"] = _CODEC_NAMES[h["codec"]], _FILTER_NAMES[h["filter"]]
    return FrameHeader(**h)


class Encoded:
    """A block travelling between processes as its partition frame (compressed)."""

    __slots__ = ("frame",)

    def __init__(self, frame):
        self.frame = frame

    @property
    def nbytes(self) -> int:
        """The size of the block decoded (read from the frame's header)."""
        return read_header(self.frame).nbytes

    @classmethod
    def if_smaller(cls, block: np.ndarray, min_bytes: int = 1 << 20, ratio: float = 0.8):
        """``block`` as an Encoded frame when it is large and compresses to under ``ratio`` of its
        size; else ``block`` itself."""
        if not isinstance(block, np.ndarray) or block.nbytes < min_bytes or block.dtype.hasobject:
            return block
        frame = encode(block)
        return cls(frame) if frame.nbytes < ratio * block.nbytes else block


def exact_reduction(obj, protocol: int = 5):
    """A pickle reduction keeping a non-native array's dtype exactly, or NotImplemented for
    anything else: NumPy pickles arrays of big-endian datetimes, and strided arrays of any
    non-native dtype, in native byte order."""
    if type(obj) is np.ndarray and not obj.dtype.isnative:
        data = np.ascontiguousarray(obj).reshape(-1).view(np.uint8)
        payload = pickle.PickleBuffer(data.data) if protocol >= 5 else data.tobytes()
        return _rebuild_array, (payload, obj.dtype, obj.shape)
    return NotImplemented


def _rebuild_array(buffer, dtype: np.dtype, shape: tuple) -> np.ndarray:
    return np.frombuffer(buffer, dtype).reshape(shape)


class Exact:
    """A block of a non-native dtype travelling through a pickler of someone else's (dask's):
    it unpickles as the block itself, its dtype exact."""

    __slots__ = ("block",)

    def __init__(self, block: np.ndarray):
        self.block = block

    def __reduce_ex__(self, protocol):
        return exact_reduction(self.block, protocol)


def travelling(block):
    """``block`` ready for a pickler that is not rdarray's (see :class:`Exact`)."""
    return Exact(block) if type(block) is np.ndarray and not block.dtype.isnative else block


def decoded(block):
    """A block received from another process, decoded when it travelled as a frame (or is still
    wrapped, having not travelled at all)."""
    if isinstance(block, Exact):
        return block.block
    return decode_block(block.frame) if isinstance(block, Encoded) else block

