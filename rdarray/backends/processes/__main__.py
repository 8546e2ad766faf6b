"""``python -m rdarray.backends.processes``: a worker process of the processes backend (started by the driver)."""

from .worker import main

main()
