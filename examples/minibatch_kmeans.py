"""k-means clustering on a persisted array: per-partition cluster statistics merged in a tree.

Each Lloyd iteration ships the current centroids (a small NumPy array captured by the function) to
every partition of the persisted data; each partition assigns its rows to the nearest centroid and
returns its per-cluster sums, counts and squared distances, a partial model update merged pairwise
by ``x.reduce``. The new centroids are sums / counts. The same iterations in plain NumPy must give
the same centroids, and scikit-learn's KMeans (when installed) from the same start the same
inertia. ``--small`` runs it at a tiny size.
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


def nearest(rows, centroids):
    """Squared distance of each row to each centroid (rows x k), exactly, whatever the blocking."""
    cols = np.ascontiguousarray(rows.T)   # one contiguous array per coordinate: faster sums
    return np.stack([((cols - c[:, None]) ** 2).sum(axis=0) for c in centroids], axis=1)


def cluster_stats(rows, centroids):
    """Per-cluster coordinate sums and row counts, and the inertia, of ``rows`` for ``centroids``."""
    k, d = centroids.shape
    dist = nearest(rows, centroids)
    label = dist.argmin(axis=1)
    sums = np.stack([np.bincount(label, weights=rows[:, j], minlength=k) for j in range(d)], axis=1)
    return sums, np.bincount(label, minlength=k), dist[np.arange(len(rows)), label].sum()


def kmeans_plusplus(sample, k, rng, trials=8):
    """Greedy k-means++ seeding on a sample: of a few rows drawn with probability ~ squared distance
    to the centroids so far, the next centroid is the one that lowers the inertia most."""
    centroids = sample[rng.integers(len(sample))][None]
    for _ in range(k - 1):
        dist = nearest(sample, centroids).min(axis=1)
        drawn = sample[rng.choice(len(sample), trials, p=dist / dist.sum())]
        best = np.minimum(dist[:, None], nearest(sample, drawn)).sum(axis=0).argmin()
        centroids = np.vstack([centroids, drawn[best]])
    return centroids


def merge(a, b):
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def lloyd(x, centroids, iterations):
    """Lloyd iterations on the PartitionedArray ``x``; returns the centroids and inertia per step."""
    inertia = []
    for i in range(iterations + 1):
        sums, counts, total = x.reduce(partial(cluster_stats, centroids=centroids), merge).compute()
        inertia.append(total)          # the inertia of the centroids that went in
        if i < iterations:             # the last pass only measures the final centroids
            centroids = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centroids)
    return centroids, inertia


def main(rows: int, k: int = 8, dims: int = 8, iterations: int = 10) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")

    rng = np.random.default_rng(0)
    true_centers = rng.uniform(-10.0, 10.0, (k, dims))
    data = true_centers[rng.integers(0, k, rows)] + rng.normal(0.0, 4.0, (rows, dims))
    start = kmeans_plusplus(data[rng.choice(rows, 10_000, replace=False)], k, rng)  # for everyone
    x = rd.from_numpy(data).persist()
    print(f"data: {rows:,} x {dims} in {x.npartitions} partitions ({data.nbytes / 1e6:.0f} MB), k={k}\n")

    print(f"{iterations} Lloyd iterations with rdarray (one tree reduction each):")
    centroids, inertia = timed("k-means", lambda: lloyd(x, start, iterations))
    for i, value in enumerate(inertia):
        print(f"    iteration {i:2d}: inertia {value:,.1f}")

    print("\nthe same with NumPy:")

    def numpy_lloyd():
        c = start
        for _ in range(iterations):
            sums, counts, _ = cluster_stats(data, c)
            c = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], c)
        return c, cluster_stats(data, c)[2]

    ref, ref_inertia = timed("k-means", numpy_lloyd)
    assert np.allclose(centroids, ref, rtol=1e-9, atol=1e-9), np.abs(centroids - ref).max()
    assert np.isclose(inertia[-1], ref_inertia, rtol=1e-9)

    checked = "centroids agree with NumPy"
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        print("\nscikit-learn is not installed: the comparison with sklearn.cluster.KMeans is skipped")
    else:
        print("\nscikit-learn, from the same first centroids:")
        km = timed("KMeans(n_init=1)", lambda: KMeans(n_clusters=k, init=start, n_init=1).fit(data))
        print(f"    {km.n_iter_} iterations, inertia {km.inertia_:,.1f} "
              f"(rdarray: {inertia[-1]:,.1f}, ratio {inertia[-1] / km.inertia_:.6f})")
        assert abs(inertia[-1] / km.inertia_ - 1) < 0.02
        checked += ", inertia agrees with scikit-learn"

    miss = np.sqrt(nearest(true_centers, centroids).min(axis=1)).max()
    print(f"\nevery true center is within {miss:.3f} of a centroid")
    print(checked)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    parser.add_argument("--backend", default="threads", choices=["threads", "sync", "processes"])
    args = parser.parse_args()
    with rd.Context(backend=args.backend):
        main(20_000 if args.small else 5_000_000)
