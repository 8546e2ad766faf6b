"""Lineages of any depth (contract 3.4: checkpoint is for long iterative loops): a narrow chain of
thousands of operations plans, ships to other processes, computes, explains and checkpoints on
every backend, and errors naming its operations stay short."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import rdarray as rd
from rdarray.graph.lineage import labels

DEPTH = 10_000


def test_a_chain_ten_thousand_operations_deep_computes(ctx):
    a = np.linspace(-3.0, 7.0, 3_000)
    b = a[::-1].copy()
    x = rd.from_numpy(a, npartitions=4)
    y = rd.from_numpy(b, npartitions=5)  # other boundaries: every ``x + y`` realigns
    expected = a
    for i in range(DEPTH):
        step = i % 4
        x = x + y if step == 0 else x * 0.5 if step == 1 else np.sqrt(np.abs(x)) if step == 2 else x - 1
        expected = (expected + b if step == 0 else expected * 0.5 if step == 1
                    else np.sqrt(np.abs(expected)) if step == 2 else expected - 1)
        if i == DEPTH // 2:
            x = x.persist()  # read inside the next plans' chain: the task's memo path
    np.testing.assert_allclose(x.compute(), expected, rtol=1e-12)
    np.testing.assert_allclose(float(x.sum()), expected.sum(), rtol=1e-9)
    text = x.explain()
    assert text.startswith("Plan: 1 stage(s), 4 task(s)") and "persisted (memory)" in text
    assert f"outputs: subtract#{x.lineage.id} [4 partition(s)]" in text and text.count("sqrt#") == DEPTH // 8
    assert repr(x).endswith("op=subtract>")
    cut = x.checkpoint()
    assert cut.lineage.parents == ()
    np.testing.assert_allclose((cut + 1).compute(), expected + 1, rtol=1e-12)


def test_a_chain_of_row_slices_ten_thousand_deep_computes(ctx):
    """Row slices read parents through row ranges: evaluated partition by partition, not compiled."""
    a = np.arange(DEPTH + 500, dtype=np.int64)
    x = rd.from_numpy(a, npartitions=7)
    for _ in range(DEPTH):
        x = x[1:]
    assert np.array_equal(x.compute(), a[DEPTH:])
    assert np.array_equal(x.checkpoint().compute(), a[DEPTH:])


def test_a_deep_stage_that_cannot_be_sent_is_named_in_brief(ctx):
    if ctx.backend not in ("processes", "dask"):
        pytest.skip("only stages sent to other processes are pickled")
    lock = threading.Lock()
    x = rd.from_numpy(np.arange(10.0), npartitions=2)
    for _ in range(DEPTH // 2):
        x = x + 1
    x = x.map_partitions(lambda b: (lock, b)[1], dtype=np.float64)
    for _ in range(DEPTH // 2):
        x = x * 1
    with pytest.raises(TypeError, match="cannot be sent to the worker processes") as info:
        x.compute()
    message = str(info.value)
    assert f"... {DEPTH - 4} more" in message and len(message) < 500, message
    assert "map_partitions(<lambda>) holds something that cannot be pickled" in message
    assert float(rd.from_numpy(np.arange(10.0), npartitions=2).sum()) == 45.0  # the context stays usable


def test_labels_name_the_first_few_and_count_the_rest():
    x = rd.from_numpy(np.arange(4.0), npartitions=2)
    nodes = []
    for _ in range(8):
        x = x + 1
        nodes.append(x._node)
    assert labels(nodes[:5]) == "add, add, add, add, add"
    assert labels(nodes) == "add, add, add, add, add, ... 3 more"
    assert labels(nodes, shown=2) == "add, add, ... 6 more"
