"""rdarray: partitioned NumPy arrays with lineage, fused stage plans and parallel execution."""

from concurrent.futures import as_completed, wait

from . import linalg, random
from ._version import __version__
from .array.array_io import from_array, read_zarr
from .array.arrow_io import read_csv, read_parquet
from .array.asof import merge_asof
from .array.core import PartitionedArray, concatenate, from_numpy, from_partitions, where
from .array.creation import arange, full, linspace, ones, zeros
from .array.dask_io import from_dask_array, from_dask_dataframe
from .array.lazy import Lazy
from .array.merge import merge
from .array.npy_io import from_npy
from .array.pandas_io import from_pandas
from .array.saved import load
from .config import config
from .engine.progress import progress
from .errors import ClosedError, CorruptDataError, WorkerLostError
from .session.compute import compute
from .session.context import Context, get_context
from .shuffle.partitioners import HashPartitioner, RangePartitioner

__all__ = [
    "ClosedError", "Context", "CorruptDataError", "HashPartitioner", "Lazy", "PartitionedArray", "RangePartitioner",
    "WorkerLostError",
    "__version__", "arange", "as_completed", "compute", "concatenate", "config", "from_array", "from_dask_array",
    "from_dask_dataframe", "from_npy", "from_numpy", "from_pandas", "from_partitions", "full", "get_context",
    "linalg", "linspace", "load", "merge", "merge_asof", "ones", "progress", "random", "read_csv", "read_parquet",
    "read_zarr", "wait", "where", "zeros",
]
