"""Progress bars: the stage being run, tasks done of the total and bytes shuffled, for computations
that take longer than half a second.

The scheduler makes one :class:`Progress` per computation when progress is asked for
(``rd.Context(progress=True)`` or ``with rd.progress():``) and hands each stage's runner a
:class:`StageProgress`; the executors report every finished task to it. Nothing is drawn until the
computation has run for ``delay`` seconds, so short computations stay silent. The bar is tqdm's,
an optional dependency: on stderr in a terminal, and in Jupyter tqdm's notebook widget
(``tqdm.auto``; tqdm's text bar on the cell's stderr when ipywidgets is missing).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any

from ..errors import ArgumentTypeError
from ..graph.lineage import ShuffleDependency

#: seconds a computation runs before its bar appears
DELAY = 0.5

_lock = threading.Lock()
_asked: list[dict] = []  # the settings of the ``with rd.progress()`` blocks now open, innermost last


def require_tqdm():
    try:
        import tqdm
    except ImportError:
        raise ImportError("progress bars need tqdm: pip install tqdm (or \"rdarray[progress]\")") from None
    return tqdm


@contextlib.contextmanager
def progress(file=None, delay: float = DELAY):
    """Show a progress bar for every computation inside the ``with`` block that runs longer than
    ``delay`` seconds (needs tqdm).

    Parameters
    ----------
    file : file-like, optional
        Where the bar goes; by default stderr when it is a terminal, the cell's output in Jupyter,
        and nowhere otherwise.
    delay : float
        Seconds a computation runs before its bar shows.

    Examples
    --------
    >>> with rd.progress():
    ...     x.sort().compute()
    """
    require_tqdm()
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"progress: file must have a write method, got {type(file).__name__}")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise ArgumentTypeError(f"progress: delay must be a number of seconds >= 0, got {delay!r}")
    if not delay >= 0:
        raise ValueError(f"progress: delay must be a number of seconds >= 0, got {delay!r}")
    settings = {"file": file, "delay": float(delay)}
    with _lock:
        _asked.append(settings)
    try:
        yield
    finally:
        with _lock:
            _asked.remove(settings)


def progress_for(plan, context_asks: bool) -> Progress | None:
    """A :class:`Progress` for ``plan`` when a bar was asked for and has somewhere to go, else None."""
    with _lock:
        settings = dict(_asked[-1]) if _asked else None
    if settings is None:
        if not context_asks:
            return None
        settings = {"file": None, "delay": DELAY}
    file = settings["file"]
    if file is None:
        if in_notebook():
            file = NOTEBOOK
        else:
            file = sys.stderr
            if file is None or not getattr(file, "isatty", lambda: False)():
                return None  # not a terminal nor a notebook, and no file was named: stay silent
    if not plan.stages:
        return None
    return Progress(plan, file, settings["delay"])


#: ``Progress``'s ``file`` for a bar drawn in a Jupyter cell's output
NOTEBOOK = "notebook"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (an IPython shell with a kernel attached); IPython
    is asked only when something already imported it."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an unusual IPython: treat as no notebook
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _bar_class(file):
    """tqdm's notebook bar for a Jupyter cell (``tqdm.auto`` picks it; without ipywidgets, tqdm's
    text bar on the cell's stderr), its text bar otherwise."""
    tqdm = require_tqdm()
    if file is NOTEBOOK:
        try:
            import ipywidgets  # noqa: F401  (tqdm's notebook bar is an ipywidgets widget)
        except ImportError:
            return tqdm.tqdm, sys.stderr
        from tqdm.auto import tqdm as auto_bar

        return auto_bar, None
    return tqdm.tqdm, file


class Progress:
    """Tasks done per stage and bytes shuffled in one computation, drawn as a bar on ``file`` once
    it has run ``delay`` seconds. Every method is safe to call from any thread."""

    def __init__(self, plan, file, delay: float):
        self.totals = [stage.npartitions for stage in plan.stages]
        self.done = [0] * len(self.totals)
        self.shuffled = 0
        self.shuffle_ids = {dep.parent.id for stage in plan.stages for node in stage.nodes
                            for dep in node.dependencies if isinstance(dep, ShuffleDependency)}
        self._file = file
        self._bar: Any = None  # a tqdm bar, once shown
        self._closed = False
        self._lock = threading.Lock()
        self._timer = None
        if delay > 0:
            self._timer = threading.Timer(delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        else:
            self._show()

    def stage(self, index: int) -> StageProgress:
        return StageProgress(self, index)

    def add(self, plan) -> int:
        """Count the stages of the next plan of the same computation (planned once a decision
        was made); returns the index of its first stage."""
        with self._lock:
            first = len(self.totals)
            self.totals += [stage.npartitions for stage in plan.stages]
            self.done += [0] * len(plan.stages)
            self.shuffle_ids |= {dep.parent.id for stage in plan.stages for node in stage.nodes
                                 for dep in node.dependencies if isinstance(dep, ShuffleDependency)}
            if self._bar is not None:
                self._bar.total = sum(self.totals)
                self._draw()
            return first

    def _task_done(self, index: int, shuffled: int) -> None:
        with self._lock:
            if self.done[index] < self.totals[index]:  # a stage run again after a repair counts once
                self.done[index] += 1
            self.shuffled += shuffled
            if self._bar is not None:
                self._draw()

    def _show(self) -> None:
        bar, file = _bar_class(self._file)
        with self._lock:
            if not self._closed:
                self._bar = bar(total=sum(self.totals), initial=sum(self.done), desc=self._stage_text(),
                                postfix=self._shuffle_text(), unit="task", file=file, leave=True,
                                dynamic_ncols=True)

    def _draw(self) -> None:
        bar = self._bar
        bar.set_description_str(self._stage_text(), refresh=False)
        bar.set_postfix_str(self._shuffle_text(), refresh=False)
        bar.update(sum(self.done) - bar.n)

    def _stage_text(self) -> str:
        """The first stage with tasks left (dask runs the next stages' tasks as inputs get ready)."""
        current = next((i for i, (d, t) in enumerate(zip(self.done, self.totals)) if d < t), len(self.totals) - 1)
        return f"stage {current + 1}/{len(self.totals)}"

    def _shuffle_text(self) -> str:
        return f"{self.shuffled / 1e6:.1f} MB shuffled"

    def close(self) -> None:
        """Stop: the bar, if one is shown, is drawn a last time as it stands and left on screen."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._draw()
                self._bar.close()
                self._bar = None


class StageProgress:
    """What the executors running one stage report to: each finished task and its outputs' sizes."""

    __slots__ = ("progress", "index")

    def __init__(self, progress: Progress, index: int):
        self.progress = progress
        self.index = index

    def task_done(self, sizes=()) -> None:
        """One task of the stage finished; ``sizes`` are ``(node id, bytes)`` of what it wrote."""
        ids = self.progress.shuffle_ids
        self.progress._task_done(self.index, sum(nbytes for node_id, nbytes in sizes if node_id in ids))
