"""How arrays and lazy values show in Jupyter: an HTML summary built from the lineage alone (dtype,
shape, partitions, the last operations, persisted or not), so displaying one never computes it."""

from __future__ import annotations

import html

from ..graph.lineage import Node

#: how many of the latest operations a summary lists
SHOWN_OPERATIONS = 5

_STYLE = ("<style>.rd-repr table{border-collapse:collapse;margin:2px 0}"
          ".rd-repr th,.rd-repr td{text-align:left;padding:2px 10px 2px 0;border:none;font-size:12px}"
          ".rd-repr th{color:#555;font-weight:normal}"
          ".rd-repr code{font-size:12px}</style>")


def array_html(x) -> str:
    """The HTML summary of a PartitionedArray, from its lineage (computes nothing).

    Parameters
    ----------
    x : PartitionedArray

    Returns
    -------
    str
    """
    node = x.lineage
    dims = ", ".join("?" if n is None else str(n) for n in x.shape)
    shape = "(" + dims + ("," if x.ndim == 1 else "") + ")"
    rows = [("dtype", str(x.dtype)), ("shape", shape), ("partitions", _partitions_text(node)),
            ("size", _bytes_text(x.nbytes)), ("operations", operations_text(node)),
            ("persisted", node.persist_level or "no")]
    return _table("rd.PartitionedArray", rows)


def lazy_html(value) -> str:
    """The HTML summary of an ``rd.Lazy``, from its lineage (computes nothing).

    Parameters
    ----------
    value : rd.Lazy

    Returns
    -------
    str
    """
    meta = value.meta
    rows = [("value", value.label)]
    if meta is not None:
        rows += [("dtype", str(meta.dtype)), ("shape", str(tuple(meta.shape)))]
    else:
        rows.append(("dtype", "known once computed"))
    nodes = value.__rd_nodes__()
    if value.node is not None:
        rows.append(("operations", operations_text(value.node)))
        rows.append(("computes from", f"{_source_partitions(value.node)} partition(s)"))
    else:
        rows.append(("operations", "planned once " + ", ".join(n.label for n in nodes) + " is computed"))
    rows.append(("computed", "not yet: compute(), float() or format() evaluates it"))
    return _table("rd.Lazy", rows)


def operations_text(node: Node, shown: int = SHOWN_OPERATIONS) -> str:
    """The last ``shown`` operations leading to ``node``, oldest first, following first parents.

    Parameters
    ----------
    node : Node
    shown : int

    Returns
    -------
    str
    """
    chain: list[str] = []
    current: Node | None = node
    while current is not None and len(chain) < shown:
        chain.append(current.label)
        current = current.parents[0] if current.parents else None
    more = "… → " if current is not None else ""  # older operations left out
    return more + " → ".join(reversed(chain))


def _source_partitions(node: Node) -> int:
    while node.parents and node.npartitions == 1:
        node = node.parents[0]
    return node.npartitions


def _partitions_text(node: Node) -> str:
    lengths = node.partition_lengths
    if lengths is None:
        return f"{node.npartitions} (lengths known once computed)"
    if not lengths:
        return "0"
    return f"{len(lengths)} of {min(lengths)}–{max(lengths)} rows"


def _bytes_text(nbytes: int | None) -> str:
    if nbytes is None:
        return "known once computed"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>" for k, v in rows)
    return f'<div class="rd-repr">{_STYLE}<strong>{html.escape(title)}</strong><table>{body}</table></div>'
