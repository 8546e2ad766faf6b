"""Progress bars (contract 2): the stage being run of the total, tasks done of the total and bytes
shuffled; nothing for short computations, nothing on a stderr that is not a terminal unless asked."""
from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import rdarray as rd

pytest.importorskip("tqdm")


def _slowly(block):
    """Each task takes a moment, so that a computation outlasts a short delay."""
    time.sleep(0.01)
    return block


def _last_bar(text: str) -> str:
    """The bar as last drawn: tqdm redraws it in place after a carriage return."""
    return [part for part in re.split(r"[\r\n]", text) if part.strip()][-1]


def _planned(x) -> tuple[int, int]:
    """(stages, tasks) of the plan that computing ``x`` runs, from its ``explain()`` header."""
    stages, tasks = re.match(r"Plan: (\d+) stage\(s\), (\d+) task\(s\)", x.explain()).groups()
    return int(stages), int(tasks)


def test_bar_counts_stages_tasks_and_bytes(ctx):
    a = np.random.default_rng(0).integers(0, 1000, 200_000)
    y = rd.from_numpy(a, npartitions=6).map_partitions(_slowly).sort()
    stages, tasks = _planned(y)
    out = io.StringIO()
    with rd.progress(file=out, delay=0):
        got = y.compute()
    np.testing.assert_array_equal(got, np.sort(a))
    bar = _last_bar(out.getvalue())
    assert f"stage {stages}/{stages}" in bar and f"{tasks}/{tasks} " in bar, bar
    shuffled = float(re.search(r"([\d.]+) MB shuffled", bar).group(1))
    if ctx.backend == "dask":
        assert shuffled == 0  # the buckets' sizes stay on the dask workers: only tasks are counted
    else:  # every row once, in buckets that also hold their offsets
        assert a.nbytes / 1e6 - 0.05 <= shuffled <= a.nbytes / 1e6 * 1.1 + 0.05, bar


def test_short_computations_stay_silent():
    out = io.StringIO()
    with rd.progress(file=out):
        assert rd.arange(1000, npartitions=4).sum().compute() == 499500
    assert out.getvalue() == ""


def test_persisted_partitions_count_as_done(ctx):
    x = rd.from_numpy(np.arange(10_000.0), npartitions=5).map_partitions(_slowly).persist()
    x.sum().compute()
    out = io.StringIO()
    with rd.progress(file=out, delay=0):
        assert (x * 2).sum().compute() == 2 * np.arange(10_000.0).sum()
    bar = _last_bar(out.getvalue())
    total = re.search(r"(\d+)/(\d+) ", bar).groups()
    assert total[0] == total[1], bar


def test_a_failing_task_closes_the_bar_and_the_context_stays_usable():
    def boom(block):
        raise ArithmeticError("no")

    out = io.StringIO()
    with rd.progress(file=out, delay=0):
        with pytest.raises(ArithmeticError):
            rd.arange(100, npartitions=4).map_partitions(boom, dtype=np.int64).compute()
        assert rd.arange(100, npartitions=4).sum().compute() == 4950
    assert "stage 1/1" in out.getvalue()


@pytest.mark.parametrize("kwargs, error", [({"delay": -1}, ValueError), ({"delay": "1"}, ValueError),
                                           ({"file": 3}, TypeError)])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error, match="progress"):
        with rd.progress(**kwargs):
            pass


SCRIPT = textwrap.dedent("""
    import time
    import numpy as np
    import rdarray as rd

    def slowly(block):
        time.sleep(0.15)
        return block

    x = rd.from_numpy(np.arange(8000), npartitions=8)
    with rd.Context(backend="threads", workers=2, progress=True):
        assert x.map_partitions(slowly).sum().compute() == np.arange(8000).sum()
    with rd.progress():
        assert x.map_partitions(slowly).sort().compute()[-1] == 7999
""")


def test_silent_when_stderr_is_not_a_terminal():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60, check=True)
    assert done.stderr == b""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_shown_on_a_terminal():
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # rows, columns
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    try:
        while True:  # read as it comes: a full terminal buffer would block the writer
            if not select.select([leader], [], [], 60)[0]:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # every writer has closed the terminal's other end
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        assert process.wait(timeout=60) == 0
    text = seen.decode()
    finished = re.findall(r"stage (\d+)/\1: 100%.*? (\d+)/\2 .*?([\d.]+) MB shuffled", text)
    assert len(finished) == 2, text  # the context's bar, then the block's
    assert finished[0][1] == "9" and float(finished[1][2]) > 0, text  # 8 tasks and a combine; a sort


def test_in_a_notebook_without_widgets_the_text_bar_goes_to_the_cells_stderr(monkeypatch, capsys):
    """In a Jupyter kernel stderr is no terminal, yet the bar shows: tqdm's notebook widget where
    ipywidgets is installed (tests/test_notebook.py runs a real kernel), its text bar otherwise."""
    from rdarray.engine import progress as progress_module

    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    x = rd.from_numpy(np.arange(400.0), npartitions=4)
    with rd.progress(delay=0):
        assert x.map_partitions(_slowly).sum().compute() == np.arange(400.0).sum()
    bar = _last_bar(capsys.readouterr().err)
    assert "stage 2/2" in bar and "5/5" in bar


def test_not_a_notebook_in_a_plain_process():
    from rdarray.engine.progress import in_notebook

    assert not in_notebook()
