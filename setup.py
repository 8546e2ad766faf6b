"""Build the Cython kernels in rdarray/_core.

Metadata lives in pyproject.toml; this file only declares the extension modules.
C-Blosc2 is linked statically from the headers and ``lib/libblosc2.a`` that the
``blosc2`` wheel ships (it is a build requirement), so the installed package has
no run-time dependency on any blosc library.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
CORE = HERE / "rdarray" / "_core"

# Every kernel in rdarray/_core, and whether it links C-Blosc2 (frame does; kernels such as
# hashing are plain C). A .pyx missing from this dict is an error.
KERNELS: dict[str, bool] = {
    "asof": False,
    "csvscan": False,
    "frame": True,
    "hashing": False,
    "histogram": False,
    "ranges": False,
    "select": False,
    "text": False,
}

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


def blosc2_paths() -> tuple[str, str]:
    """(include dir, path of libblosc2.a) from the installed blosc2 wheel, found without importing it."""
    spec = importlib.util.find_spec("blosc2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("rdarray build: the 'blosc2' wheel is not installed in the build environment "
                 "(it is listed in [build-system].requires; with --no-build-isolation run "
                 "'pip install blosc2' first)")
    pkg = Path(spec.submodule_search_locations[0])
    include, static = pkg / "include", pkg / "lib" / "libblosc2.a"
    for need in (include / "blosc2.h", static):
        if not need.is_file():
            sys.exit(f"rdarray build: {need} not found; this blosc2 wheel does not ship the C-Blosc2 "
                     "headers and static library that rdarray links against")
    return str(include), str(static)


def generate_includes() -> None:
    """Write each ``*.pxi`` from its Tempita template ``*.pxi.in`` (per-dtype code generated from
    one table); a file whose text would not change is left alone, so it triggers no rebuild."""
    from Cython import Tempita

    for template in sorted(CORE.glob("*.pxi.in")):
        text = Tempita.sub(template.read_text(encoding="utf-8"))
        target = template.with_suffix("")
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def extensions() -> list[Extension]:
    import numpy as np
    from Cython.Build import cythonize

    generate_includes()
    found = sorted(p.stem for p in CORE.glob("*.pyx"))
    unknown = set(found) - KERNELS.keys()
    if unknown:
        sys.exit(f"rdarray build: add {sorted(unknown)} to KERNELS in setup.py (needs blosc or not)")
    blosc = blosc2_paths() if any(KERNELS[n] for n in found) else None
    exts = []
    for name in found:
        kw: dict = {"include_dirs": [np.get_include()], "extra_compile_args": ["-O3"],
                    "define_macros": [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                                      # NumPy 2's C API (text reads and writes StringDType arrays)
                                      ("NPY_TARGET_VERSION", "NPY_2_0_API_VERSION")]}
        if KERNELS[name]:
            assert blosc is not None
            kw["include_dirs"].append(blosc[0])
            kw["extra_objects"] = [blosc[1]]
            kw["libraries"] = ["pthread", "m", "dl"]
            # Keep blosc's symbols private to this module: no clash with another copy
            # of C-Blosc2 (e.g. the blosc2 package) loaded in the same process.
            kw["extra_link_args"] = ["-Wl,--exclude-libs,ALL"]
        exts.append(Extension(f"rdarray._core.{name}", [f"rdarray/_core/{name}.pyx"], **kw))
    return cythonize(exts, compiler_directives=DIRECTIVES, include_path=[str(HERE)])


#: commands that only read the metadata or pack the sources: they need no kernels (so an sdist
#: is made without Cython, NumPy or the blosc2 wheel, and without cythonizing anything)
SOURCES_ONLY = {"sdist", "egg_info", "dist_info", "check"}


def sources_only(argv: list[str]) -> bool:
    commands = [a for a in argv[1:] if not a.startswith("-")]
    return bool(commands) and commands[0] in SOURCES_ONLY and not ({"build", "build_ext", "bdist_wheel", "install",
                                                                    "develop", "editable_wheel"} & set(commands))


setup(ext_modules=[] if sources_only(sys.argv) else extensions())
