"""The graph: lineage nodes, the dependencies between them, and the combining of reduction partials."""
