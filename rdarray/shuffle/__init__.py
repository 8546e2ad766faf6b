"""The shuffle engine: hash partitioning, bucket scatter and hash aggregation building blocks."""
