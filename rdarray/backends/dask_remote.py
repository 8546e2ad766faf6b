"""What the dask backend's watchdog runs on the scheduler and on the nannies (``backends/dask.py``).

These functions import nothing of rdarray, and travel by value (cloudpickle), so a scheduler or a
nanny without rdarray installed runs them too.
"""

from __future__ import annotations


async def silent_workers(after: float, dask_scheduler=None) -> dict[str, tuple[float, bool]]:
    """On the scheduler: the workers that sent no heartbeat for ``after`` seconds, each with how
    long it has been silent and whether it has a nanny."""
    import time

    now = time.time()
    return {ws.address: (now - ws.last_seen, ws.nanny is not None) for ws in dask_scheduler.workers.values()
            if now - ws.last_seen > after}


async def restart_workers(addresses: list, dask_scheduler=None) -> None:
    """On the scheduler: restart these workers through their nannies (removing those without one),
    as its ``worker-ttl`` check does."""
    import time

    await dask_scheduler.restart_workers(addresses, wait_for_workers=False, on_error="return",
                                         stimulus_id=f"rdarray-heartbeat-timeout-{time.time()}")


def worker_cpu(dask_worker=None):
    """On a nanny: the pid of its worker process and the CPU seconds it has used (None when it runs
    none)."""
    import psutil

    pid = dask_worker.pid
    if not pid:
        return None
    times = psutil.Process(pid).cpu_times()
    return pid, times.user + times.system


def kill_worker(pid: int, dask_worker=None) -> bool:
    """On a nanny: SIGKILL its worker process if it is still ``pid`` (a stopped process ignores
    anything milder); the nanny tells the scheduler and starts another."""
    import os
    import signal

    if dask_worker.pid != pid:
        return False
    os.kill(pid, signal.SIGKILL)
    return True
