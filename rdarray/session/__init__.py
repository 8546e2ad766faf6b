"""The session: contexts (which backend runs the work) and compute (nodes in, partitions out)."""
