"""The CSV scanning kernels (``_core/csvscan.pyx``) and the byte ranges ``read_csv`` plans with them.

Oracles: plain Python over the same bytes (quote parity by counting, line ends outside quotes by
walking the bytes), and ``pandas.read_csv`` on files whose quoted values hold newlines at range ends.
"""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import rdarray as rd
from rdarray._core import compiled_kernels, csvscan
from rdarray.storage import csv_files
from rdarray.storage.csv_files import _last_line_end, _ranges

Q = ord('"')


def parity_oracle(data: bytes, start: int, stop: int, quote: int) -> int:
    return 0 if quote < 0 else data[start:stop].count(bytes([quote])) % 2


def line_end_oracle(data: bytes, start: int, stop: int, quote: int, inside: int) -> tuple[int, int]:
    if quote < 0:  # no quoting: every line end is outside quotes, the parity stays as given
        end = data.find(b"\n", start, stop)
        return (-1 if end < 0 else end + 1), inside
    for i in range(start, stop):
        if data[i] == quote:
            inside ^= 1
        elif data[i] == 10 and not inside:
            return i + 1, inside
    return -1, inside


def last_line_end_oracle(data: bytes, start: int, stop: int, quote: int) -> int:
    inside, end = 0, start
    for i in range(start, stop):
        if data[i] == quote:
            inside ^= 1
        elif data[i] == 10 and not inside:
            end = i + 1
    return end


def random_bytes(rng, n: int) -> bytes:
    """Bytes dense in quotes, line ends and separators (and a few others, 0 and 255 among them)."""
    alphabet = np.frombuffer(b'""\n\n,,ab\x00\xff', np.uint8)
    return alphabet[rng.integers(0, len(alphabet), n)].tobytes()


def test_csvscan_is_compiled():
    assert "csvscan" in compiled_kernels()


@pytest.mark.parametrize("seed", range(20))
def test_kernels_agree_with_python(seed):
    rng = np.random.default_rng(seed)
    data = random_bytes(rng, int(rng.integers(0, 400)))
    n = len(data)
    for _ in range(30):
        start = int(rng.integers(0, n + 1))
        stop = int(rng.integers(start, n + 1))
        inside = int(rng.integers(0, 2))
        for quote in (Q, -1, 0, 255):
            assert csvscan.quote_parity(data, start, stop, quote) == parity_oracle(data, start, stop, quote)
            want = line_end_oracle(data, start, stop, quote, inside)
            assert csvscan.line_end(data, start, stop, quote, inside) == want
            assert csvscan.last_line_end(data, start, stop, quote) == last_line_end_oracle(data, start, stop, quote)


def test_quote_parity_of_long_buffers():
    """Beyond a vector's width and the count's blocks, with the quotes at either end."""
    data = b'"' + b"x" * 100_003 + b'"' * 77 + b"\n" * 5 + b'"'
    for start, stop in ((0, len(data)), (1, len(data)), (0, len(data) - 1), (5, 100_050), (100_004, 100_005)):
        assert csvscan.quote_parity(data, start, stop, Q) == parity_oracle(data, start, stop, Q)


def test_kernels_on_empty_input():
    assert csvscan.quote_parity(b"", 0, 0, Q) == 0
    assert csvscan.line_end(b"", 0, 0, Q, 1) == (-1, 1)
    assert csvscan.last_line_end(b"", 0, 0, Q) == 0
    assert csvscan.line_end(b"abc", 3, 3, -1, 0) == (-1, 0)
    assert csvscan.last_line_end(b"a\nb", 2, 2, Q) == 2


def test_kernels_read_memory_maps_and_read_only_buffers(tmp_path):
    path = tmp_path / "m.csv"
    data = b'a,"b\nc"\nd,e\n'
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert csvscan.line_end(mm, 0, len(mm), Q, 0) == (8, 0)
        assert csvscan.quote_parity(mm, 0, 5, Q) == 1
        assert csvscan.last_line_end(mm, 0, len(mm), Q) == len(data)
    assert csvscan.line_end(memoryview(data)[2:], 0, len(data) - 2, Q, 1) == (3, 0)
    assert csvscan.line_end(memoryview(data)[3:], 0, len(data) - 3, Q, 1) == (5, 0)


def test_kernels_check_their_arguments():
    with pytest.raises(ValueError, match="not within"):
        csvscan.quote_parity(b"abc", 0, 4, Q)
    with pytest.raises(ValueError, match="not within"):
        csvscan.line_end(b"abc", 2, 1, Q, 0)
    with pytest.raises(ValueError, match="not within"):
        csvscan.last_line_end(b"abc", -1, 2, Q)
    with pytest.raises(ValueError, match="quote"):
        csvscan.quote_parity(b"abc", 0, 1, 256)
    with pytest.raises(ValueError, match="inside"):
        csvscan.line_end(b"abc", 0, 1, Q, 2)


def test_last_line_end_of_a_sample():
    assert _last_line_end(b'a,b\n1,"x\ny"\n2,"z', '"') == 12
    assert _last_line_end(b'a,"b\nc', '"') == 0
    assert _last_line_end(b'a,"b\nc', None) == 5


def cut_oracle(data: bytes, start: int, target: int) -> list[tuple[int, int]]:
    """Ranges cut as the planner cuts them, by walking the bytes from ``start``: at the first line
    end outside quotes at or after each multiple of ``target`` from ``start``."""
    cuts, inside = [], 0
    for i in range(start, len(data)):
        if data[i] == Q:
            inside ^= 1
        elif data[i] == 10 and not inside:
            cuts.append(i + 1)  # every line end outside quotes
    out, begin = [], start
    for nominal in range(start + target, len(data), target):
        end = next((c for c in cuts if c > nominal), None)
        if end is None or end >= len(data):
            break
        if end > begin:  # else the last cut passed this nominal one
            out.append((begin, end))
            begin = end
    out.append((begin, len(data)))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_ranges_cut_at_line_ends_outside_quotes(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(int(rng.integers(1, 120))):
        text = "".join(rng.choice(["x", "\n", '""', ",", "\r\n"], int(rng.integers(0, 12))))
        rows.append(f'{k},"{text}",{k}\n')
    data = ("a,b,c\n" + "".join(rows)).encode()
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    for target in (1, 3, 17, 64, 500, 1 << 20):
        ranges = _ranges(str(path), 6, target, '"')
        assert [(s, e) for _, s, e in ranges] == cut_oracle(data, 6, target)
        monkeypatch.setattr(csv_files, "PARALLEL_SCAN_BYTES", 0)  # the quotes counted on threads
        assert _ranges(str(path), 6, target, '"', threads=3) == ranges
        monkeypatch.undo()
        assert b"".join(data[s:e] for _, s, e in ranges) == data[6:]
        for _, _, e in ranges:  # every cut just after a line end, an even count of quotes before it
            assert data[e - 1] == 10 and data[:e].count(b'"') % 2 == 0


def test_ranges_of_a_file_ending_inside_quotes(tmp_path, monkeypatch):
    path = tmp_path / "u.csv"
    path.write_bytes(b'a,b\n1,"x\n2,y\n')
    with pytest.raises(rd.CorruptDataError, match="never closed"):
        _ranges(str(path), 4, 2, '"')
    monkeypatch.setattr(csv_files, "PARALLEL_SCAN_BYTES", 0)
    with pytest.raises(rd.CorruptDataError, match="never closed"):
        _ranges(str(path), 4, 2, '"', threads=2)


def test_ranges_of_a_large_file_on_threads(tmp_path):
    """Quotes counted on threads over a file larger than ``PARALLEL_SCAN_BYTES``, quoted newlines
    across every nominal cut."""
    rows = b"".join(b'%d,"a\n%s\n",%d\n' % (k, b"x" * (k % 50), k) for k in range(300_000))
    data = b"a,b,c\n" + rows
    assert len(data) > csv_files.PARALLEL_SCAN_BYTES
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    for target in (1 << 20, 999_983, 3 << 20):
        ranges = _ranges(str(path), 6, target, '"', threads=4)
        assert ranges == _ranges(str(path), 6, target, '"', threads=1)
        assert b"".join(data[s:e] for _, s, e in ranges) == data[6:]
        for _, _, e in ranges:
            assert data[e - 1] == 10 and data[:e].count(b'"') % 2 == 0


def test_quotechar_must_be_one_byte(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="quotechar"):
        rd.read_csv(path, quotechar="«")


def test_read_csv_quoted_newlines_at_range_ends(tmp_path, monkeypatch):
    """Ranges whose nominal ends fall on a quote, on a newline inside quotes and just after one."""
    pd = pytest.importorskip("pandas")
    rows = [f'{k},"' + "\n" * (k % 3) + f'{k}""\n",{k % 7}' for k in range(150)]
    path = tmp_path / "e.csv"
    path.write_text("a,b,c\n" + "\n".join(rows) + "\n")
    want = pd.read_csv(path)
    for size in range(1, 40, 3):
        monkeypatch.setattr(rd.config, "partition_bytes", size)
        x = rd.read_csv(path)
        got = x.to_pandas()
        assert list(got["a"]) == list(want["a"]) and list(got["b"]) == list(want["b"])
        assert list(got["c"]) == list(want["c"])
