"""``rd.random``: random arrays whose partition ``p`` is drawn from a generator seeded by
``(seed, p)``, so a recomputed partition gives the same numbers."""

from __future__ import annotations

import numpy as np

from .array.core import generated
from .array.creation import check_shape
from .errors import check_integer


def _rng(seed: int, p: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(p,)))


def _seed(seed) -> int:
    if seed is None:
        entropy = np.random.SeedSequence().entropy  # fixed now, so recomputation repeats it
        assert isinstance(entropy, int)
        return entropy
    return check_integer(seed, 0, f"random: seed must be a non-negative integer or None, got {seed!r}")


def _draw(op, size, seed, npartitions, dtype, draw):
    shape = check_shape(size, op)
    seed = _seed(seed)
    return generated(op, shape[0], shape[1:], dtype, npartitions,
                     lambda p, lo, hi: draw(_rng(seed, p), (hi - lo,) + shape[1:]), f"seed={seed}")


def random(size, seed=None, npartitions=None):
    """Uniform floats in [0, 1).

    Parameters
    ----------
    size : int or tuple of int
    seed : int, optional
        Partition ``p`` is drawn from a generator seeded by ``(seed, p)``; by default a seed drawn
        now, so that a recomputed partition repeats its numbers.
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each.

    Returns
    -------
    PartitionedArray
    """
    return _draw("random", size, seed, npartitions, np.float64, lambda g, s: g.random(s))


def normal(loc=0.0, scale=1.0, size=None, seed=None, npartitions=None):
    """Normally distributed floats.

    Parameters
    ----------
    loc : float, default 0.0
    scale : float, default 1.0
        The standard deviation, non-negative.
    size : int or tuple of int
    seed : int, optional
        As for :func:`random`.
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each.

    Returns
    -------
    PartitionedArray
    """
    if size is None:
        raise ValueError("normal: size is required")
    if scale < 0:
        raise ValueError(f"normal: scale must be non-negative, got {scale!r}")
    return _draw("normal", size, seed, npartitions, np.float64, lambda g, s: g.normal(loc, scale, s))


def integers(low, high=None, size=None, seed=None, npartitions=None, dtype=np.int64):
    """Uniform integers in ``[low, high)``.

    Parameters
    ----------
    low, high : int
        ``integers(high)`` draws from ``[0, high)``.
    size : int or tuple of int
    seed : int, optional
        As for :func:`random`.
    npartitions : int, optional
        By default about ``rd.config.partition_bytes`` each.
    dtype : numpy.dtype, default int64

    Returns
    -------
    PartitionedArray

    Examples
    --------
    >>> keys = rd.random.integers(0, 100, size=1_000_000, seed=1)
    """
    if size is None:
        raise ValueError("integers: size is required")
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"integers: high ({high}) must be greater than low ({low})")
    return _draw("integers", size, seed, npartitions, np.dtype(dtype),
                 lambda g, s: g.integers(low, high, s, dtype=dtype))
