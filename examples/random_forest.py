"""rdarray random forest: trees fit on separate partitions, ensembled by soft voting.

The training rows (20 features and the label in the last column) are split into partitions; a
reduction fits a small scikit-learn forest on each partition's own rows and returns the fitted
forests to the driver, which averages their class probabilities. Each tree sees only 1/P of the
data, so the whole ensemble trains much faster than one forest of as many trees on all of it, for
a small loss of accuracy. ``--small`` runs it at a tiny size. Needs scikit-learn
(``pip install "rdarray[examples]"``).
"""

import argparse
import time

import numpy as np

import rdarray as rd

try:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
except ImportError:
    raise SystemExit('random_forest.py needs scikit-learn: pip install "rdarray[examples]"') from None

PARTITIONS, TREES_PER_PARTITION = 4, 2
MAX_DEPTH = 12  # bounds the time to fit a tree and the size of the trees sent back to the driver


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<38} {time.perf_counter() - start:8.3f} s")
    return value


def fit_forest(part):
    """A small forest on one partition's rows, in a list so that ``+`` joins the results.
    Every partition uses the same seed: its trees differ from the others' because its rows do."""
    forest = RandomForestClassifier(n_estimators=TREES_PER_PARTITION, max_depth=MAX_DEPTH, random_state=0)
    return [forest.fit(part[:, :-1], part[:, -1].astype(np.int64))]


def soft_vote(forests, features):
    """The ensemble's class probabilities: the mean of its members' (equal-sized forests)."""
    return np.mean([f.predict_proba(features) for f in forests], axis=0)


def main(rows: int, backend: str) -> None:
    with rd.Context(backend=backend) as ctx:
        print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

        features, labels = make_classification(n_samples=rows, n_features=20, n_informative=8,
                                               class_sep=1.5, flip_y=0.01, random_state=0)
        n_test = rows // 5
        x_test, y_test = features[:n_test], labels[:n_test]  # make_classification shuffles the rows
        train = np.column_stack([features[n_test:], labels[n_test:]])
        x = rd.from_numpy(train, npartitions=PARTITIONS)
        trees = TREES_PER_PARTITION * x.npartitions
        print(f"data: {len(x):,} training rows in {x.npartitions} partitions ({train.nbytes / 1e6:.0f} MB), "
              f"{n_test:,} test rows\n")

        print(f"fitting {TREES_PER_PARTITION} trees on each partition ({trees} in all):")
        forests = timed("reduce(fit_forest)", lambda: x.reduce(fit_forest, combine=lambda a, b: a + b).compute())
        proba = timed("soft vote on the test set", lambda: soft_vote(forests, x_test))
        accuracy = np.mean(forests[0].classes_[proba.argmax(axis=1)] == y_test)

        print(f"\none forest of {trees} trees on all training rows (scikit-learn, n_jobs={ctx.workers}):")
        single = RandomForestClassifier(n_estimators=trees, max_depth=MAX_DEPTH, random_state=0, n_jobs=ctx.workers)
        timed("fit", lambda: single.fit(train[:, :-1], train[:, -1].astype(np.int64)))
        single_accuracy = timed("score on the test set", lambda: single.score(x_test, y_test))

        print(f"\ntest accuracy: ensemble of {len(forests)} partition forests {accuracy:.4f}, "
              f"single forest {single_accuracy:.4f}")

        # The ensembling, checked tree by tree: every member tree's probabilities, averaged directly.
        members = [tree for forest in forests for tree in forest.estimators_]
        direct = np.mean([tree.predict_proba(x_test) for tree in members], axis=0)
        assert len(forests) == x.npartitions and len(members) == trees
        fitted_rows = [int(f.estimators_[0].tree_.weighted_n_node_samples[0]) for f in forests]  # bootstrap draws
        assert fitted_rows == list(x.partition_lengths), (fitted_rows, x.partition_lengths)
        assert all(np.array_equal(f.classes_, [0, 1]) for f in forests)
        assert np.allclose(proba, direct, rtol=0, atol=1e-12)
        assert accuracy >= single_accuracy - 0.03, (accuracy, single_accuracy)
        print("\nthe ensemble's votes agree with its trees', and its accuracy with the single forest's")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    parser.add_argument("--backend", default="threads", choices=["threads", "processes", "sync"])
    args = parser.parse_args()
    main(5_000 if args.small else 1_000_000, args.backend)
