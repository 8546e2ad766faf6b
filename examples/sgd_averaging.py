"""Logistic regression by parallel SGD with parameter averaging, on a persisted array.

Each epoch ships the current weights to every partition of the persisted data; each partition runs
mini-batch SGD over its own rows from those weights and returns its weight vector, and
``x.aggregate`` averages them, weighted by rows, in a pairwise tree (iterative parameter mixing).
The same averaging done serially with NumPy over the same partitions must give the same weights,
and the model must classify about as well as the true weights (and scikit-learn, when installed).
``--small`` runs it at a tiny size.
"""

import argparse
import time
from functools import partial

import numpy as np

import rdarray as rd


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def sgd(part, w, lr, batch=250):
    """Mini-batch SGD on the log-loss over the rows of one partition (features, then the label)."""
    features, labels = part[:, :-1], part[:, -1]
    w = w.copy()
    for i in range(0, len(part), batch):
        xb, yb = features[i:i + batch], labels[i:i + batch]
        w -= lr * xb.T @ (1.0 / (1.0 + np.exp(-(xb @ w))) - yb) / len(xb)
    return w


def add_local_model(acc, part, w, lr):
    """Add this partition's SGD weights, weighted by its rows, to the running (sum, rows)."""
    return acc[0] + len(part) * sgd(part, w, lr), acc[1] + len(part)


def add_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


def scores(part, w):
    """Per row: the log-loss and whether the prediction is right."""
    z, labels = part[:, :-1] @ w, part[:, -1]
    return np.stack([np.logaddexp(0.0, z) - labels * z, (z > 0) == labels], axis=1)


def learning_rate(epoch):
    return 2.0 / (1 + epoch)


def main(rows: int, dims: int = 20, epochs: int = 5) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    w_true = rng.normal(0.0, 1.0, dims)
    data = np.empty((rows, dims + 1))
    data[:, :-1] = rng.normal(0.0, 1.0, (rows, dims))
    data[:, -1] = data[:, :-1] @ w_true + rng.logistic(0.0, 1.0, rows) > 0   # logistic noise
    x = rd.from_numpy(data).persist()
    print(f"data: {rows:,} rows x {dims} features in {x.npartitions} partitions ({data.nbytes / 1e6:.0f} MB)\n")

    def train():
        w = np.zeros(dims)
        for epoch in range(epochs):
            update = partial(add_local_model, w=w, lr=learning_rate(epoch))
            total, n = x.aggregate((np.zeros(dims), 0), update, add_pairs).compute()
            w = total / n
            loss, accuracy = x.map_partitions(partial(scores, w=w)).mean(axis=0).compute()
            print(f"    epoch {epoch}: log-loss {loss:.5f}, accuracy {accuracy:.5f}")
        return w, loss, accuracy

    print(f"{epochs} epochs with rdarray (SGD in every partition, weights averaged in a tree):")
    w, loss, accuracy = timed("training and evaluation", train)
    assert np.allclose([loss, accuracy], scores(data, w).mean(axis=0), rtol=1e-12)

    print("\nthe same averaging, serially with NumPy over the same partitions (no evaluation):")
    parts = x.partitions()
    assert np.array_equal(np.concatenate(parts), data)

    def serial():
        w = np.zeros(dims)
        for epoch in range(epochs):
            w = sum(len(p) * sgd(p, w, learning_rate(epoch)) for p in parts) / rows
        return w

    ref = timed("training", serial)
    assert np.allclose(w, ref, rtol=1e-10, atol=1e-12), np.abs(w - ref).max()

    true_accuracy = np.mean((data[:, :-1] @ w_true > 0) == data[:, -1])
    print(f"\naccuracy {accuracy:.5f}; with the true weights {true_accuracy:.5f}; "
          f"relative weight error {np.linalg.norm(w - w_true) / np.linalg.norm(w_true):.4f}")
    assert accuracy > true_accuracy - 0.005
    checked = "weights agree with NumPy, accuracy with the true weights"
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("scikit-learn is not installed: the comparison with LogisticRegression is skipped")
    else:
        model = timed("sklearn LogisticRegression", lambda: LogisticRegression(
            fit_intercept=False).fit(data[:, :-1], data[:, -1]))
        sk_accuracy = model.score(data[:, :-1], data[:, -1])
        print(f"scikit-learn's accuracy {sk_accuracy:.5f}")
        assert abs(accuracy - sk_accuracy) < 0.005
        checked += " and scikit-learn"
    print(checked)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    parser.add_argument("--backend", default="threads", choices=["threads", "sync", "processes"])
    args = parser.parse_args()
    with rd.Context(backend=args.backend):
        main(20_000 if args.small else 5_000_000)
