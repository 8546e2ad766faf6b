"""Compiled Cython kernels (built by setup.py; C-Blosc2 is linked in statically)."""
from __future__ import annotations

import importlib
import importlib.machinery
import pkgutil


def compiled_kernels() -> list[str]:
    """Names of the compiled extension modules in ``rdarray._core`` that import.

    A kernel that is missing or fails to import (e.g. a source checkout that was never
    built) is left out rather than raising.
    """
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = []
    for info in pkgutil.iter_modules(__path__):
        try:
            mod = importlib.import_module(f"{__name__}.{info.name}")
        except ImportError:
            continue
        if (getattr(mod, "__file__", None) or "").endswith(suffixes):
            names.append(info.name)
    return sorted(set(names))
