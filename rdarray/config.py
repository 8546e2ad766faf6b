"""Process-wide tunables, read at planning time: ``rd.config.partition_bytes = 8 << 20``."""

import dataclasses
import difflib
import math
import operator
from dataclasses import dataclass


def _setting(default, *, zero: bool = False):
    """A tunable: a positive number of the field's type (``zero``: or 0)."""
    return dataclasses.field(default=default, metadata={"zero": zero})


@dataclass
class Config:
    """Tunables checked as they are set: an unknown name is an error (not a new attribute), and a
    value must be a number of the field's type (``int`` or ``float``), positive (or 0 where a
    setting says what 0 means)."""

    #: target size of a partition made by ``from_numpy`` and the creation routines
    partition_bytes: int = _setting(32 << 20)
    #: arrays at least ``workers * min_split_bytes`` large get at least one partition per worker
    min_split_bytes: int = _setting(256 << 10)
    #: a join side smaller than this is broadcast instead of shuffled (0: never broadcast)
    broadcast_bytes: int = _setting(64 << 20, zero=True)
    #: processes and dask backends: seconds a worker may stay silent (its heartbeats come every
    #: sixth of this) before it is taken for hung, killed and replaced; read when a Context is made
    heartbeat_timeout: float = _setting(60.0)
    #: processes backend: the largest frame a driver or worker receives (one array of a message,
    #: e.g. a partition or a shuffle bucket); larger ones are refused before they are read, and a
    #: message that would carry one fails with an error saying so. Read when a Context is made
    max_frame_bytes: int = _setting(512 << 20)

    def __setattr__(self, name: str, value) -> None:
        fields = {f.name: f for f in dataclasses.fields(self)}
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the settings are: {', '.join(fields)}"
            raise AttributeError(f"rd.config has no setting {name!r}{hint}")
        integer = fields[name].type in (int, "int")
        try:
            if isinstance(value, (bool, str)):
                raise TypeError
            value = operator.index(value) if integer else float(value)
        except TypeError:
            raise TypeError(f"rd.config.{name} must be {'an integer' if integer else 'a number'}, "
                            f"got {value!r}") from None
        zero = fields[name].metadata["zero"]
        if math.isnan(value) or value < 0 or (value == 0 and not zero):
            raise ValueError(f"rd.config.{name} must be {'at least 0' if zero else 'positive'}, got {value!r}")
        object.__setattr__(self, name, value)


config = Config()
