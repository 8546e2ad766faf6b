"""``rd.linalg``: linear algebra on tall partitioned arrays (n × k, n large, k small).

``qr`` is a tall-skinny QR (R factors merged in a tree, Q a PartitionedArray), ``svd`` goes
through it, ``lstsq`` factors ``[a | b]`` in one pass, ``norm`` is ``np.linalg.norm``; products
(``x.T @ y``, ``np.cov``) are NumPy's operators and functions on the arrays themselves.
"""

from .array.linalg import lstsq, norm, qr, svd

__all__ = ["lstsq", "norm", "qr", "svd"]
