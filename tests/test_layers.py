"""The layers of docs/ARCHITECTURE.md: no module imports one of a higher layer (the import-linter
contract in pyproject.toml, also run by .ci/run), and the layout shows them."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def lint(root: pathlib.Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root``, with its pyproject.toml."""
    pytest.importorskip("importlinter")
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)


def test_no_module_imports_a_higher_layer():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check fails on an import from the engine up into the session, even inside a function."""
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    subprocess.run(["cp", "-r", str(ROOT / "rdarray"), str(copy / "rdarray")], check=True)
    with open(copy / "rdarray" / "engine" / "scheduler.py", "a") as f:
        f.write("\n\ndef _upward():\n    from ..session.context import get_context\n\n    return get_context\n")
    done = lint(copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rdarray.engine.scheduler -> rdarray.session.context" in done.stdout


def test_one_package_per_layer_and_one_module_per_backend():
    packages = {p.name for p in (ROOT / "rdarray").iterdir() if (p / "__init__.py").exists()}
    assert {"graph", "plan", "storage", "shuffle", "engine", "backends", "session", "array"} <= packages
    from rdarray.session.context import BACKENDS

    backends = {p.stem for p in (ROOT / "rdarray" / "backends").iterdir() if p.stem != "__init__"}
    assert set(BACKENDS) <= backends
