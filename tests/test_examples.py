"""Every example in ``examples/`` runs at its small size and checks its own answers (against NumPy,
pandas or scikit-learn): a wrong answer fails its assertions and the script's exit status."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
NEEDS = {"random_forest.py": "sklearn", "groupby_transactions.py": "pandas", "timeseries_alignment.py": "pandas"}
RUNS = [(name, []) for name in sorted(os.listdir(EXAMPLES)) if name.endswith(".py")] + [
    ("hyperparameter_search.py", ["--numpy"]),  # the model used without scikit-learn
    ("minibatch_kmeans.py", ["--backend", "processes"]),
    ("sgd_averaging.py", ["--backend", "processes"]),
    ("hyperparameter_search.py", ["--backend", "processes"]),
    ("principal_components.py", ["--backend", "processes"]),
]


def test_every_example_is_run():
    assert len({name for name, _ in RUNS}) >= 10


@pytest.mark.parametrize("name, args", RUNS, ids=[" ".join([n, *a]) for n, a in RUNS])
def test_example(name, args):
    module = NEEDS.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{name} needs {module}")
    # the rdarray of this checkout, not whichever one is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), "--small", *args],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "agree" in done.stdout, f"{name} did not report its check:\n{done.stdout[-3000:]}"
