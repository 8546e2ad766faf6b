"""The planner: lineage -> stages."""
