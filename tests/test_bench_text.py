"""The text-key workloads W3-text and W5-text (benchmarks/workloads.py) on tiny inputs: every engine
installed (pandas among them, the oracle) agrees with rdarray on every backend, and the checks
reject a wrong answer."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import workloads as W

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


def test_vocabulary_is_distinct_strings_of_5_to_40_characters():
    words = W._text_vocabulary(5_000, np.random.default_rng(1))
    assert len(words) == len(set(words)) == 5_000
    assert min(map(len, words)) == 5 and max(map(len, words)) == 40


def _results(case) -> dict:
    return {impl: fn() for impl, fn in case.impls.items()}


def test_text_groupby_engines_agree(ctx):
    for case in W.w3_text(0.0005):  # 10,000 rows; 1,000 and 500 distinct keys
        got = _results(case)
        ours = got["rdarray"]
        for impl, result in got.items():
            assert impl == "rdarray" or case.agree(ours, result), impl
        p = got["pandas"]
        assert ours["key"].dtype == object and list(ours["key"]) == sorted(ours["key"])
        assert int(ours["value_count"].sum()) == 10_000 and len(ours) == len(p[0])
        wrong = (p[0], p[1] + 1e-3, p[2], p[3])
        assert not case.agree(ours, wrong)
        swapped = (p[0][::-1].copy(), p[1], p[2], p[3])
        assert not case.agree(ours, swapped)


def test_text_join_engines_agree(ctx):
    for case in W.w5_text(0.001):  # 10,000 x 1,000 rows, 10,000 x 1,000 rows
        got = _results(case)
        ours = got["rdarray"]
        for impl, result in got.items():
            assert impl == "rdarray" or case.agree(ours, result), impl
        key, a, b = got["pandas"]
        assert 0.85 * 10_000 < len(ours) < 0.97 * 10_000  # ~91 % of left rows match
        assert not case.agree(ours, (key[:-1], a[:-1], b[:-1]))
        assert not case.agree(ours, (key, a, b[::-1].copy()))
