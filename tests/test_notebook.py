"""Notebooks: the HTML views (which compute nothing, and render in a real browser), explain() as
text, visualize() with Graphviz, lazy values as NumPy scalars, and all of it in a real Jupyter
kernel."""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter

ROOT = pathlib.Path(__file__).resolve().parents[1]
A = np.arange(1.0, 201.0).reshape(100, 2)


def counted():
    """An array made through a counting function, and the counter."""
    counter = Counter(lambda b: b * 2)
    return rd.from_numpy(A, npartitions=4).map_partitions(counter) + 1, counter


# -- HTML views ----------------------------------------------------------------------------------
def test_array_html_shows_the_lineage_and_computes_nothing():
    x, counter = counted()
    html = x._repr_html_()
    dims = "(100, 2)" if x.shape[0] is not None else "(?, 2)"
    for text in ("rd.PartitionedArray", "float64", dims, "4 ", "from_numpy", "counting", "add", "persisted"):
        assert text in html, text
    assert "4 of 25–25 rows" in rd.from_numpy(A, npartitions=4)._repr_html_()
    assert "<script" not in html
    y = x.persist()
    assert "<code>memory</code>" in y._repr_html_()
    z = x
    for _ in range(8):  # a long lineage: only the latest operations, the older ones elided
        z = z + 1
    assert "… → " in z._repr_html_() and "from_numpy" not in z._repr_html_()
    f = x.filter(lambda b: b[:, 0] > 50)
    assert "lengths known once computed" in f._repr_html_() and "(?, 2)" in f._repr_html_()
    assert counter.total == 0  # nothing was computed


def test_html_escapes_labels():
    x = rd.from_numpy(A, npartitions=2).map_partitions(lambda b: b)
    assert "<lambda>" not in x._repr_html_() and "&lt;lambda&gt;" in x._repr_html_()


def test_lazy_html_computes_nothing():
    x, counter = counted()
    m = x.mean()
    html = m._repr_html_()
    for text in ("rd.Lazy", "mean", "float64", "counting", "not yet"):
        assert text in html, text
    spread = rd.Lazy.apply("spread", lambda lo, hi: hi - lo, [x.min(), x.max()])
    assert "spread" in spread._repr_html_()
    assert "rd.Lazy" in x.quantile(0.5)._repr_html_()
    assert counter.total == 0
    assert float(m) == pytest.approx((A * 2 + 1).mean())
    assert counter.total == 4


# -- explain and visualize -----------------------------------------------------------------------
def test_explain_is_text_that_shows_as_text():
    x = rd.from_numpy(A, npartitions=3)
    for text in (x.sum(axis=0).explain(), (x + 1).explain()):
        assert isinstance(text, str) and text.startswith("Plan:")
        assert repr(text) == str(text)  # not quoted nor escaped: lines stay lines
        assert text.splitlines()[0] == str(text).splitlines()[0]
    from IPython.lib.pretty import pretty

    assert pretty(x.explain()) == str(x.explain())


def _needs_dot():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)")


def test_visualize_writes_png_and_svg(tmp_path):
    _needs_dot()
    keys = rd.from_numpy(np.random.default_rng(0).integers(0, 9, 500), npartitions=3)
    x = (keys + 1).sort()
    picture = x.visualize(tmp_path / "plan.svg")
    svg = (tmp_path / "plan.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "shuffle" in svg
    assert "stage 0" in svg
    assert "image/svg+xml" in picture._repr_mimebundle_()  # what Jupyter displays
    x.sum().visualize(str(tmp_path / "plan.PNG"))
    assert (tmp_path / "plan.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "digraph" in x.visualize().source
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        x.visualize(tmp_path / "plan.pdf")


def test_visualize_without_graphviz_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"rdarray\[graphviz\]"):
        rd.from_numpy(A, npartitions=2).visualize()


# -- lazy values as NumPy scalars ----------------------------------------------------------------
def test_lazy_values_format_round_and_convert_as_numpy_scalars():
    x = rd.from_numpy(A, npartitions=3)
    m, want = x.mean(), A.mean()
    assert f"{m:.2f}" == f"{want:.2f}" and format(m, ".3e") == format(want, ".3e")
    assert f"{m}" == f"{want}" and f"{m:>12.1f}" == f"{want:>12.1f}"
    assert round(m, 2) == round(want, 2) and round(m) == round(want) and isinstance(round(m), int)
    assert m.item() == want.item() and type(m.item()) is float
    assert type(x.astype(np.int64).sum().item()) is int
    assert bool(m > 100) and not bool(m < 100) and m == want
    assert sorted([x.max(), x.min()], key=float)[0] == A.min()
    s = x.sum(axis=0)
    assert s.item(1) == A.sum(axis=0)[1]
    with pytest.raises(TypeError):  # as for a NumPy array: round() is for scalars
        round(s, 1)
    with pytest.raises(ValueError, match="size 1"):
        s.item()


# -- in a real browser -----------------------------------------------------------------------------
def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _screenshot(browser: str, page: pathlib.Path, png: pathlib.Path) -> np.ndarray:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={page.parent / 'profile'}", "--window-size=800,400",
                    f"--screenshot={png}", page.as_uri()], check=True, capture_output=True, timeout=120)
    image = pytest.importorskip("PIL.Image")
    return np.asarray(image.open(png).convert("L"))


def test_html_renders_in_a_headless_browser(tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium or Chrome binary to render the HTML in (apt-get install chromium)")
    x = (rd.from_numpy(A, npartitions=4) * 2).persist()
    page = tmp_path / "repr.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body style='background:#fff'>{x._repr_html_()}"
                    f"{x.mean()._repr_html_()}</body>", encoding="utf-8")
    blank = tmp_path / "blank.html"
    blank.write_text("<!doctype html><body style='background:#fff'></body>")
    shot = _screenshot(browser, page, tmp_path / "repr.png")
    empty = _screenshot(browser, blank, tmp_path / "blank.png")
    assert shot.shape == empty.shape and (empty > 250).all()
    dark = shot < 128  # text drawn
    rows = np.flatnonzero(dark.any(axis=1))
    assert dark.sum() > 500, "the HTML drew almost nothing"
    # a table, not one line: text spread over many rows, in at least two columns (headers, values)
    assert rows.size > 0 and rows[-1] - rows[0] > 150
    columns = np.flatnonzero(dark.any(axis=0))
    assert columns[-1] - columns[0] > 200


# -- in a real Jupyter kernel ------------------------------------------------------------------------
NOTEBOOK_CELLS = [
    "import numpy as np, time, rdarray as rd\n"
    "x = rd.from_numpy(np.arange(1000.0).reshape(500, 2), npartitions=4)\n"
    "x",
    "x.explain()",
    "m = x.mean()\nm",
    "print(f'{m:.2f}', round(m, 1), m.item())",
    "slow = x.map_partitions(lambda b: (time.sleep(0.2), b)[1])\n"
    "with rd.progress(delay=0):\n"
    "    total = slow.sum().compute()\n"
    "total",
]


def test_in_a_jupyter_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("tqdm")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # the kernel runs this interpreter, in the repository root, so it imports this rdarray
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}},
                                     kernel_manager_class=_kernel_manager_class())
    client.execute()
    shown, explained, mean, printed, progress = [cell.outputs for cell in nb.cells]

    html = _result(shown)["text/html"]
    assert "rd.PartitionedArray" in html and "(500, 2)" in html and "4 of 125–125 rows" in html
    text = _result(explained)["text/plain"]
    assert text.startswith("Plan:") and "\n" in text and "\\n" not in text
    assert "rd.Lazy" in _result(mean)["text/html"]
    assert printed[0]["name"] == "stdout" and printed[0]["text"].split() == ["499.50", "499.5", "499.5"]
    assert _result(progress)["text/plain"] == repr(np.float64(np.arange(1000.0).sum()))
    # the bar: tqdm's notebook widget (ipywidgets installed) or its text bar on the cell's stderr
    widgets = [o for o in progress if o.get("output_type") == "display_data"
               and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    texts = "".join(o.get("text", "") for o in progress if o.get("output_type") == "stream")
    bar_texts = "".join(o["data"].get("text/plain", "") for o in widgets)
    assert widgets or "task" in texts, progress
    assert "stage" in bar_texts + texts


def _kernel_manager_class():
    """A kernel manager starting this interpreter (whatever the ``python3`` kernelspec names)."""
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, *cmd[1:]] if cmd and "python" in pathlib.Path(cmd[0]).name else cmd

    return ThisPython


def _result(outputs) -> dict:
    return next(o["data"] for o in outputs if o.get("output_type") == "execute_result")
