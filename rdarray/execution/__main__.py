"""``python -m rdarray.execution``: a worker process of the processes backend (started by the driver)."""

from .worker import main

main()
