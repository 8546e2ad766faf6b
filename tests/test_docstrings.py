"""The public API documents itself: every public function or method that takes parameters has a
numpydoc ``Parameters`` section naming each of them, and a ``Returns`` section when it returns
something. A class documents its constructor's parameters in its own docstring (numpydoc's rule).

Walked: the names ``rdarray/__init__.py`` exports (functions, classes and their public methods,
the functions of ``rd.random`` and ``rd.linalg``), and the group-by, rolling and transposed objects.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest

import rdarray as rd
from rdarray.array.groupby import GroupBy
from rdarray.array.products import Transposed
from rdarray.array.windows import Rolling


def _own(fn) -> bool:
    return (getattr(fn, "__module__", None) or "").startswith("rdarray")


def _public_api() -> list[tuple[str, object, object]]:
    """``(name, function, what documents it)``: a function or method, and the docstring holder
    (the class itself for its constructor)."""
    found = []
    classes = [(name, getattr(rd, name)) for name in rd.__all__ if inspect.isclass(getattr(rd, name))]
    classes.extend([("GroupBy", GroupBy), ("Rolling", Rolling), ("Transposed", Transposed)])
    for name in rd.__all__:
        obj = getattr(rd, name)
        if inspect.isfunction(obj) and _own(obj):
            found.append((name, obj, obj))
    for name in dir(rd.random):
        fn = getattr(rd.random, name)
        if not name.startswith("_") and inspect.isfunction(fn) and fn.__module__ == rd.random.__name__:
            found.append((f"random.{name}", fn, fn))
    for name in rd.linalg.__all__:
        found.append((f"linalg.{name}", getattr(rd.linalg, name), getattr(rd.linalg, name)))
    for name, cls in classes:
        if issubclass(cls, BaseException):
            continue  # exceptions take a message
        init = cls.__dict__.get("__init__")
        if init is not None and _own(init):
            found.append((f"{name}()", init, cls))
        for attr, value in vars(cls).items():
            if attr.startswith("_"):
                continue
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if inspect.isfunction(fn) and _own(fn):
                found.append((f"{name}.{attr}", fn, fn))
    return found


def _parameters(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values() if p.name not in ("self", "cls")]


def _returns_a_value(fn) -> bool:
    """Whether the function's own body (not a nested function's) returns something besides None."""
    if inspect.isclass(fn) or fn.__name__ == "__init__":
        return False  # a constructor returns its instance
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _section(doc: str, title: str) -> str | None:
    """The text of a numpydoc section, or None when there is none."""
    match = re.search(rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\w[\w ]*\n-{{3,}}\n|\Z)", doc, re.M | re.S)
    return None if match is None else match.group(1)


API = _public_api()


def test_the_walk_finds_the_api():
    names = {name for name, _, _ in API}
    assert {"from_numpy", "PartitionedArray.sort", "PartitionedArray.sum", "GroupBy.agg", "Context()",
            "random.normal", "merge", "linalg.qr", "Rolling.mean", "PartitionedArray.rolling"} <= names


@pytest.mark.parametrize("name, fn, holder", API, ids=[name for name, _, _ in API])
def test_public_functions_document_parameters_and_returns(name, fn, holder):
    params = _parameters(fn)
    if not params:
        return
    doc = inspect.getdoc(holder) or ""
    section = _section(doc, "Parameters")
    assert section is not None, f"{name}: no Parameters section"
    documented = {name.strip().lstrip("*") for line in section.splitlines() if line and not line[0].isspace()
                  for name in line.split(" : ")[0].split(",")}
    undocumented = [p for p in params if p not in documented]
    assert not undocumented, f"{name}: Parameters does not name {undocumented}"
    if _returns_a_value(fn):
        assert _section(doc, "Returns") is not None, f"{name}: returns a value but has no Returns section"
