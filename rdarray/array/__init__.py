"""The logical dataset: PartitionedArray, its operations, and lazy values."""
