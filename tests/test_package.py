"""The installed package: its command line, its kernels, and the examples it ships."""

import pathlib
import shutil
import subprocess
import sys
import tarfile
import tomllib

import pytest

import rdarray as rd

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_info_names_version_blosc_kernels_and_context():
    from rdarray._core.frame import blosc_version

    out = run("-m", "rdarray", "info")
    assert f"rdarray {rd.__version__}" in out
    assert f"C-Blosc2 {blosc_version()}" in out
    assert "frame" in out.split("compiled kernels:")[1].splitlines()[0]
    assert "backend=threads" in out


def test_kernel_needs_no_blosc_package_at_run_time():
    code = ("import sys; sys.modules['blosc2'] = None; import numpy as np; "
            "from rdarray.storage import frame; a = np.arange(1000.0); "
            "print('ok' if np.array_equal(frame.decode(frame.encode(a)), a) else 'bad')")
    assert run("-c", code).strip() == "ok"


def test_version_flag():
    assert run("-m", "rdarray", "--version").strip() == f"rdarray {rd.__version__}"


def test_license_and_typing_markers():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "rdarray" / "py.typed").is_file()
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT" and meta["project"]["license-files"] == ["LICENSE"]
    # SPDX license expressions need setuptools 77
    assert "setuptools>=77" in meta["build-system"]["requires"]
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["rdarray"]


#: what an unpacked sdist needs to build the kernels and run its tests
SDIST_NEEDS = ["LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in", "rdarray/py.typed",
               "tests/conftest.py", "tests/_helpers.py", "tests/test_package.py", "tests/fuzz/_common.py",
               "docs/ARCHITECTURE.md", "benchmarks/workloads.py", "examples/quickstart.py",
               "rdarray/_core/hashing_kinds.pxi.in", "rdarray/_core/ids.pxd", "rdarray/_core/blosc2_api.pxd"]


def test_sdist_carries_what_its_tests_need(tmp_path):
    """The sdist (made with ``python -m build --sdist``) holds the kernels' sources, the tests with
    conftest.py and their helpers, and what the tests read; no build outputs."""
    pytest.importorskip("build")
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"building the sdist needs setuptools >= 77 (SPDX license), this is {setuptools.__version__}")
    # from a copy of the sources: building writes an egg-info directory next to them
    source = tmp_path / "src"
    skipped = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                     ".hypothesis", "*.so", "*.c")
    shutil.copytree(ROOT, source, ignore=skipped)
    done = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check",
                           "--outdir", str(tmp_path / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (archive,) = (tmp_path / "dist").glob("rdarray-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (top,) = (tmp_path / "unpacked").iterdir()
    files = {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}
    missing = [f for f in SDIST_NEEDS if f not in files]
    assert not missing, missing
    kernels = {p.stem for p in (ROOT / "rdarray" / "_core").glob("*.pyx")}
    assert kernels and all(f"rdarray/_core/{k}.pyx" in files for k in kernels)
    tests = {p.name for p in (ROOT / "tests").glob("*.py")}
    assert all(f"tests/{t}" in files for t in tests)
    assert not [f for f in files if f.endswith((".so", ".c", ".pyc"))]
    info = (top / "PKG-INFO").read_text()
    assert "License-Expression: MIT" in info and "License-File: LICENSE" in info
    assert "Classifier: Programming Language :: Python :: 3.11" in info
