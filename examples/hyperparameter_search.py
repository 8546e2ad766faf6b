"""Randomized hyper-parameter search with futures: ``ctx.submit`` and ``rd.as_completed``.

Every candidate is one task on the context's workers; results are reported as they arrive
(parameters, validation score, time). A candidate is a ridge penalty, a polynomial degree (1 or 2)
and a random subset of the features. With scikit-learn installed the model is a polynomial Ridge
regression scored by 3-fold cross-validation; without it (or with ``--numpy``) a closed-form NumPy
ridge regression on the powers of the features, scored on a held-out quarter of the rows.
The same candidates evaluated serially in this process must give the same scores and the same best
candidate. ``--small`` runs it at a tiny size.
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread per task: the tasks are the parallelism
import numpy as np

import rdarray as rd


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def sklearn_score(X, y, alpha, degree, features):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    model = make_pipeline(PolynomialFeatures(degree), StandardScaler(), Ridge(alpha=alpha))
    return cross_val_score(model, X[:, features], y, cv=KFold(3), scoring="r2").mean()


def numpy_score(X, y, alpha, degree, features):
    """R^2 on the last quarter of the rows of a ridge fit (powers 1..degree of ``features``)."""
    A = np.hstack([X[:, features] ** p for p in range(1, degree + 1)])
    cut = 3 * len(y) // 4
    mean, scale, y_mean = A[:cut].mean(axis=0), A[:cut].std(axis=0), y[:cut].mean()
    A = (A - mean) / scale
    train = A[:cut]
    w = np.linalg.solve(train.T @ train + alpha * np.eye(A.shape[1]), train.T @ (y[:cut] - y_mean))
    residual = y[cut:] - y_mean - A[cut:] @ w
    return 1.0 - residual @ residual / ((y[cut:] - y[cut:].mean()) ** 2).sum()


def describe(params):
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def evaluate(X, y, params, use_sklearn):
    """One candidate's validation score and the seconds it took."""
    start = time.perf_counter()
    score = sklearn_score(X, y, **params) if use_sklearn else numpy_score(X, y, **params)
    return score, time.perf_counter() - start


def main(rows: int, candidates: int, use_sklearn: bool) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    X = rng.uniform(-2.0, 2.0, (rows, 8))
    y = 2 * np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] ** 2 - X[:, 4] + rng.normal(0, 0.5, rows)
    space = [{"alpha": float(10 ** rng.uniform(-3, 3)), "degree": int(rng.integers(1, 3)),
              "features": np.sort(rng.choice(8, int(rng.integers(2, 9)), replace=False))}
             for _ in range(candidates)]
    model = "polynomial Ridge (scikit-learn), 3-fold CV" if use_sklearn else "NumPy ridge, hold-out"
    print(f"data: {rows:,} rows x 8 features; {candidates} candidates; {model}\n")

    print("results as they arrive:")
    start = time.perf_counter()
    futures = {ctx.submit(evaluate, X, y, params, use_sklearn): i for i, params in enumerate(space)}
    scores, received = np.full(candidates, np.nan), 0
    for future in rd.as_completed(futures):
        i, received = futures[future], received + 1
        scores[i], seconds = future.result()
        print(f"  {time.perf_counter() - start:7.2f} s  #{i:<3} R^2 {scores[i]:+.5f}  ({seconds:.2f} s)  "
              f"{describe(space[i])}")
    print(f"  {'search (parallel)':<38} {time.perf_counter() - start:8.3f} s")
    best = int(np.nanargmax(scores))
    print(f"best: #{best} ({describe(space[best])}), R^2 {scores[best]:.5f}\n")

    print("the same candidates, one after another in this process:")
    serial = timed("search (serial)", lambda: np.array([evaluate(X, y, p, use_sklearn)[0] for p in space]))

    assert received == len(futures) == candidates and not np.isnan(scores).any()
    assert np.allclose(scores, serial, rtol=1e-9, atol=1e-12), np.abs(scores - serial).max()
    assert best == int(np.argmax(serial))
    print(f"all {candidates} scores and the best candidate agree with the serial search")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    parser.add_argument("--backend", default="threads", choices=["threads", "sync", "processes"])
    parser.add_argument("--numpy", action="store_true", help="the NumPy model even if scikit-learn is installed")
    args = parser.parse_args()
    try:
        import sklearn  # noqa: F401
        use_sklearn = not args.numpy
    except ImportError:
        print("scikit-learn is not installed: using the NumPy ridge regression")
        use_sklearn = False
    with rd.Context(backend=args.backend):
        main(2_000 if args.small else 200_000, 8 if args.small else 64, use_sklearn)
