"""Process-wide tunables, read at planning time: ``rd.config.partition_bytes = 8 << 20``."""

from dataclasses import dataclass


@dataclass
class Config:
    #: target size of a partition made by ``from_numpy`` and the creation routines
    partition_bytes: int = 32 << 20
    #: arrays at least ``workers * min_split_bytes`` large get at least one partition per worker
    min_split_bytes: int = 256 << 10
    #: a join side smaller than this is broadcast instead of shuffled
    broadcast_bytes: int = 64 << 20


config = Config()
