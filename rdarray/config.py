"""Process-wide tunables, read at planning time: ``rd.config.partition_bytes = 8 << 20``."""

import dataclasses
import difflib
import operator
from dataclasses import dataclass


@dataclass
class Config:
    """Tunables checked as they are set: an unknown name is an error (not a new attribute), a value
    must be of the field's type (``int`` or ``float``) and at least its ``minimum`` (default 0)."""

    #: target size of a partition made by ``from_numpy`` and the creation routines
    partition_bytes: int = dataclasses.field(default=32 << 20, metadata={"minimum": 1})
    #: arrays at least ``workers * min_split_bytes`` large get at least one partition per worker
    min_split_bytes: int = dataclasses.field(default=256 << 10, metadata={"minimum": 1})
    #: a join side smaller than this is broadcast instead of shuffled (0: never broadcast)
    broadcast_bytes: int = dataclasses.field(default=64 << 20, metadata={"minimum": 0})

    def __setattr__(self, name: str, value) -> None:
        fields = {f.name: f for f in dataclasses.fields(self)}
        names = list(fields)
        if name not in fields:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the settings are: {', '.join(names)}"
            raise AttributeError(f"rd.config has no setting {name!r}{hint}")
        kind = fields[name].type
        try:
            if isinstance(value, bool) or isinstance(value, str):
                raise TypeError
            value = operator.index(value) if kind is int else float(value)
        except TypeError:
            what = "an integer" if kind is int else "a number"
            raise TypeError(f"rd.config.{name} must be {what}, got {value!r}") from None
        minimum = fields[name].metadata.get("minimum", 0)
        if value < minimum:
            raise ValueError(f"rd.config.{name} must be at least {minimum}, got {value!r}")
        object.__setattr__(self, name, value)


config = Config()
