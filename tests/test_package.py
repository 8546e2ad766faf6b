"""The installed package: its command line, its kernels, and the examples it ships."""

import pathlib
import subprocess
import sys

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
