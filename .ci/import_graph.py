"""Measure rdarray's import graph: its circles and the imports that run up the layers.

    python .ci/import_graph.py

Every import statement counts, module level or inside a function (grimp's graph, the one
import-linter checks). A circle is a strongly connected component of more than one module; an
upward import is one from a module of a lower layer to one of a higher layer (LAYERS, bottom to
top; the names before and after the layers became packages are both listed).
"""

import sys

import grimp

LAYERS = [  # bottom to top: module-name prefixes
    ["rdarray.errors", "rdarray.dtypes", "rdarray.config", "rdarray._version", "rdarray._core"],
    ["rdarray.lineage", "rdarray.graph"],
    ["rdarray.plan"],
    ["rdarray.storage"],
    ["rdarray.shuffle"],
    ["rdarray.engine", "rdarray.execution.scheduler", "rdarray.execution.task", "rdarray.execution.progress",
     "rdarray.execution.base"],
    ["rdarray.backends", "rdarray.execution"],
    ["rdarray.session", "rdarray.context", "rdarray.compute"],
    ["rdarray.array", "rdarray.random"],
    ["rdarray"],
]


def layer(module: str) -> int:
    best, rank = -1, len(LAYERS) - 1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def circles(graph) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def main() -> int:
    graph = grimp.build_graph("rdarray", include_external_packages=False)
    comps = circles(graph)
    print(f"modules: {len(graph.modules)}")
    print(f"circles: {len(comps)} (sizes {[len(c) for c in comps]})")
    for c in comps:
        print("  " + " ".join(m.removeprefix("rdarray.") for m in c))
    upward = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if layer(importer) < layer(imported):
                lines = [d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)]
                upward.append((importer, imported, lines))
    statements = sum(len(lines) for _, _, lines in upward)
    print(f"upward imports: {len(upward)} module pairs, {statements} import statements")
    for importer, imported, lines in upward:
        print(f"  {importer} -> {imported} (lines {lines})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
