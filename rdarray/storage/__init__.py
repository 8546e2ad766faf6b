"""On-disk and in-memory storage of partitions (Blosc2 codec, files, spill)."""
