"""CSV scanning kernels: quote parity and line ends outside quotes, over the bytes of a file.

``storage/csv_files.py`` cuts a CSV file into byte ranges just after line ends that are outside
quotes: a line end is outside quotes where the count of quote characters from a point known to be
outside quotes (the start of the data) is even (a doubled quote inside a quoted value counts
twice, so it leaves the parity as it was). These kernels count at memory speed, without the GIL,
over any buffer (``bytes``, an ``mmap``); a quote of -1 means no quoting.
"""
from libc.string cimport memchr


cdef void _check(Py_ssize_t n, Py_ssize_t start, Py_ssize_t stop, int quote) except *:
    if not 0 <= start <= stop <= n:
        raise ValueError(f"the range {start}:{stop} is not within a buffer of {n} bytes")
    if not -1 <= quote <= 255:
        raise ValueError(f"the quote must be a byte (0 to 255) or -1 (no quoting), got {quote}")


cdef int _parity(const unsigned char* p, Py_ssize_t n, unsigned char q) noexcept nogil:
    """The parity of the count of bytes ``q`` in ``p[:n]``: the exclusive or of one bit per byte,
    a loop the compiler vectorizes (a compare and an xor per vector of bytes, no widening)."""
    cdef unsigned char acc = 0
    cdef Py_ssize_t i
    for i in range(n):
        acc ^= p[i] == q
    return acc & 1


def quote_parity(const unsigned char[::1] buf, Py_ssize_t start, Py_ssize_t stop, int quote) -> int:
    """The parity (0 or 1) of the count of ``quote`` bytes in ``buf[start:stop]``; 0 when
    ``quote`` is -1 (no quoting)."""
    cdef Py_ssize_t n = buf.shape[0]
    _check(n, start, stop, quote)
    if quote < 0 or stop == start:
        return 0
    cdef int parity
    with nogil:
        parity = _parity(&buf[start], stop - start, <unsigned char>quote)
    return parity


def line_end(const unsigned char[::1] buf, Py_ssize_t start, Py_ssize_t stop, int quote, int inside) -> tuple:
    """``(end, inside)``: ``end`` is the offset just past the first ``\\n`` of ``buf[start:stop]``
    outside quotes, the parity of quotes before ``start`` being ``inside`` (0 or 1), and ``inside``
    the parity there; ``(-1, parity at stop)`` when there is none. Without quoting (``quote``
    -1) every line end is outside quotes and ``inside`` is returned as given."""
    cdef Py_ssize_t n = buf.shape[0], i, end = -1
    _check(n, start, stop, quote)
    if inside not in (0, 1):
        raise ValueError(f"inside must be 0 or 1, got {inside}")
    cdef unsigned char q = <unsigned char>(quote if quote >= 0 else 0), c
    cdef const unsigned char* base
    cdef const void* found
    cdef int parity = inside
    if stop == start:
        return -1, parity
    base = &buf[0]
    with nogil:
        if quote < 0:
            found = memchr(base + start, 10, stop - start)
            if found != NULL:
                end = <const unsigned char*>found - base + 1
        else:
            for i in range(start, stop):
                c = base[i]
                if c == q:
                    parity ^= 1
                elif c == 10 and parity == 0:
                    end = i + 1
                    break
    return end, parity


def last_line_end(const unsigned char[::1] buf, Py_ssize_t start, Py_ssize_t stop, int quote) -> int:
    """The offset just past the last ``\\n`` of ``buf[start:stop]`` outside quotes (quotes counted
    from ``start``, which is outside quotes); ``start`` when there is none."""
    cdef Py_ssize_t n = buf.shape[0], i, end
    _check(n, start, stop, quote)
    cdef unsigned char q = <unsigned char>(quote if quote >= 0 else 0), c
    cdef const unsigned char* base
    cdef int parity = 0
    end = start
    if stop == start:
        return end
    base = &buf[0]
    with nogil:
        if quote < 0:
            i = stop
            while i > start:
                i -= 1
                if base[i] == 10:
                    end = i + 1
                    break
        else:
            for i in range(start, stop):
                c = base[i]
                if c == q:
                    parity ^= 1
                elif c == 10 and parity == 0:
                    end = i + 1
    return end
