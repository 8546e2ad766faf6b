"""``python -m rdarray info``: the version, the Blosc library, the compiled kernels, the default context;
``python -m rdarray --version``: the version alone."""

from __future__ import annotations

import argparse
import sys


def info() -> str:
    import rdarray as rd
    from rdarray._core import compiled_kernels

    try:
        from rdarray._core.frame import blosc_version
        blosc = blosc_version()
    except ImportError as exc:  # a broken build should still be reported, not crash the report
        blosc = f"unavailable ({exc})"
    ctx = rd.get_context()
    kernels = ", ".join(compiled_kernels()) or "none"
    return "\n".join([
        f"rdarray {rd.__version__}",
        f"C-Blosc2 {blosc} (linked statically)",
        f"compiled kernels: {kernels}",
        f"default context: backend={ctx.backend}, workers={ctx.workers}",
    ])


def main(argv=None) -> int:
    from rdarray._version import __version__

    parser = argparse.ArgumentParser(prog="python -m rdarray")
    parser.add_argument("--version", action="version", version=f"rdarray {__version__}")
    parser.add_argument("command", choices=["info"], help="what to do")
    parser.parse_args(argv)
    print(info())
    return 0


if __name__ == "__main__":
    sys.exit(main())
