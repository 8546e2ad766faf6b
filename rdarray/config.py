"""Process-wide tunables, read at planning time: ``rd.config.partition_bytes = 8 << 20``."""

import numbers
from dataclasses import dataclass


@dataclass
class Config:
    #: target size of a partition made by ``from_numpy`` and the creation routines
    partition_bytes: int = 32 << 20
    #: arrays at least ``workers * min_split_bytes`` large get at least one partition per worker
    min_split_bytes: int = 256 << 10
    #: a join side smaller than this is broadcast instead of shuffled
    broadcast_bytes: int = 64 << 20
    #: processes and dask backends: seconds a worker may stay silent (its heartbeats come every
    #: sixth of this) before it is taken for hung, killed and replaced; read when a Context is made
    heartbeat_timeout: float = 60.0
    #: processes backend: the largest frame a driver or worker receives (one array of a message,
    #: e.g. a partition or a shuffle bucket); larger ones are refused before they are read, and a
    #: message that would carry one fails with an error saying so. Read when a Context is made
    max_frame_bytes: int = 512 << 20


config = Config()


def positive(name: str, integer: bool = False) -> float:
    """``config.<name>``, checked to be a positive number (an integer, with ``integer``): a
    TypeError or ValueError naming it otherwise."""
    value = getattr(config, name)
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"rd.config.{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not float(value) > 0:  # NaN too
        raise ValueError(f"rd.config.{name} must be positive, got {value!r}")
    return float(value)
