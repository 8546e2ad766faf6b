"""Backends: one module or package per ``backend=`` string (threads, sync, processes, dask)."""
