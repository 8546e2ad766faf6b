"""rdarray example: principal components of a tall array (10M × 32), two ways, against NumPy.

The rows are observations of 32 correlated measurements: a few hidden factors mixed into the
columns, plus noise and large column offsets. Principal components are the right singular vectors
of the centered data, and their variances the squared singular values over n - 1.

- ``rd.linalg.svd(x - x.mean(axis=0))``: a tall-skinny QR (each partition factored in cache-sized
  chunks, the R factors merged in a tree), then the SVD of the small R; U stays lazy.
- ``np.cov(x, rowvar=False)``: the 32 × 32 covariance in two passes (the means, then the cross
  products of the deviations), then ``np.linalg.eigh``.

NumPy computes the covariance and its eigenvectors on the whole array; scikit-learn's ``PCA``
(when installed) fits the same components. Components are compared up to sign. ``--small`` runs
it at a tiny size.
"""

import argparse
import importlib.util
import time

import numpy as np

import rdarray as rd


def timed(label, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<46} {time.perf_counter() - start:8.3f} s")
    return value


def aligned(components, reference):
    """``components`` with each row's sign flipped to agree with ``reference``'s row."""
    signs = np.sign(np.sum(components * reference, axis=1))
    return components * signs[:, None]


def main(n: int, k: int) -> None:
    ctx = rd.get_context()
    print(f"rdarray {rd.__version__}: backend={ctx.backend}, workers={ctx.workers}")
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(n, 4)) * [5.0, 3.0, 2.0, 1.0]
    mixing = rng.normal(size=(4, k))
    data = factors @ mixing + 0.1 * rng.normal(size=(n, k)) + rng.uniform(-1e3, 1e3, size=k)
    x = rd.from_numpy(data)
    print(f"data: {n:,} × {k} float64 in {x.npartitions} partitions ({data.nbytes / 1e6:.0f} MB)\n")

    print("rdarray:")
    centered = x - x.mean(axis=0)
    _, s, vh = rd.linalg.svd(centered)
    s, vh = timed("rd.linalg.svd of the centered array (S, V^H)", lambda: rd.compute(s, vh))
    svd_variances, svd_components = s**2 / (n - 1), vh
    cov = timed("np.cov(x, rowvar=False), then eigh", lambda: np.cov(x, rowvar=False).compute())
    w, v = np.linalg.eigh(cov)
    cov_variances, cov_components = w[::-1], v[:, ::-1].T
    scores = timed("scores on 4 components, x_c @ V[:4].T", lambda: (centered @ svd_components[:4].T).compute())

    print("NumPy:")
    ref_cov = timed("np.cov(a, rowvar=False), then eigh", lambda: np.cov(data, rowvar=False))
    rw, rv = np.linalg.eigh(ref_cov)
    ref_variances, ref_components = rw[::-1], rv[:, ::-1].T
    ref_scores = (data - data.mean(axis=0)) @ ref_components[:4].T

    print("\nvariance of the first 6 components (rdarray SVD, rdarray cov, NumPy):")
    for i in range(6):
        print(f"  {i + 1:2d} {svd_variances[i]:18.10g} {cov_variances[i]:18.10g} {ref_variances[i]:18.10g}")
    top = 4  # the hidden factors; the rest is noise, whose components are not well determined
    np.testing.assert_allclose(svd_variances, ref_variances, rtol=1e-8, atol=1e-10 * ref_variances[0])
    np.testing.assert_allclose(cov_variances, ref_variances, rtol=1e-8, atol=1e-10 * ref_variances[0])
    np.testing.assert_allclose(aligned(svd_components[:top], ref_components[:top]), ref_components[:top], atol=1e-8)
    np.testing.assert_allclose(aligned(cov_components[:top], ref_components[:top]), ref_components[:top], atol=1e-8)
    signs = np.sign(np.sum(svd_components[:top] * ref_components[:top], axis=1))
    np.testing.assert_allclose(scores * signs, ref_scores, atol=1e-6 * np.abs(ref_scores).max())

    if importlib.util.find_spec("sklearn") is not None:
        from sklearn.decomposition import PCA

        print("scikit-learn:")
        pca = timed("PCA(n_components=4, svd_solver='covariance_eigh')",
                    lambda: PCA(n_components=top, svd_solver="covariance_eigh").fit(data))
        np.testing.assert_allclose(svd_variances[:top], pca.explained_variance_, rtol=1e-8)
        np.testing.assert_allclose(aligned(svd_components[:top], pca.components_), pca.components_, atol=1e-8)
        print("  components and variances agree with scikit-learn's PCA")
    print("\nprincipal components and variances agree with NumPy's")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny data set (for tests)")
    parser.add_argument("--backend", default="threads", choices=["threads", "sync", "processes"])
    args = parser.parse_args()
    with rd.Context(backend=args.backend):
        main(200_000 if args.small else 10_000_000, 32)
