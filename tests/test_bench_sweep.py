"""The benchmark suite's worker sweep: one threads-backend run per worker count, each row's
speed-up over the first count, ratios and geometric means kept apart per count."""

import json

import pytest

from benchmarks.__main__ import add_ratios, add_speedups, geometric_means, main


def _row(workload, case, impl, workers, seconds):
    return {"workload": workload, "case": case, "impl": impl, "workers": workers, "seconds": seconds}


def test_speedups_and_ratios_per_worker_count():
    rows = [_row("W13", c, impl, w, s) for w, scale in ((1, 1.0), (2, 0.5))
            for c in ("P1", "P2") for impl, s in (("rdarray", 4.0 * scale), ("DuckDB", 2.0))]
    add_ratios(rows)
    add_speedups(rows)
    ours = [r for r in rows if r["impl"] == "rdarray"]
    assert [r["speedup"] for r in ours] == [1.0, 1.0, 2.0, 2.0]
    assert [r["ratio"] for r in rows if r["impl"] == "DuckDB"] == [2.0, 2.0, 1.0, 1.0]
    means = {m["workers"]: m["ratio"] for m in geometric_means(rows)}
    assert means == {1: pytest.approx(2.0), 2: pytest.approx(1.0)}


def test_a_sweep_runs_each_count(tmp_path):
    assert main(["--quick", "--only", "W10", "--workers", "1,2", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    ours = [r for r in rows if r["impl"] == "rdarray"]
    assert [r["workers"] for r in ours] == [1, 2] and ours[0]["speedup"] == 1.0
    assert "| speed-up |" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("bad", ["0,2", "a,b"])
def test_bad_worker_counts(bad, tmp_path):
    with pytest.raises(SystemExit):
        main(["--quick", "--only", "W10", "--workers", bad, "--out", str(tmp_path)])
