"""Executors (one module per backend) and the scheduler that drives them."""
