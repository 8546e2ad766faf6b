"""rdarray's benchmark suite: the workloads of BENCHMARKS.md, side by side with the peers."""
