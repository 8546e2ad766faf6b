"""Summing an HDF5 dataset: ``rd.from_array(dataset).sum()`` against ``dataset[:]`` + NumPy.

``python -m benchmarks.hdf5_sum [--mb 200] [--repeat 5] [--dir DIR]`` writes a float64 dataset of
about ``--mb`` megabytes, contiguous and chunked (1M rows a chunk), then prints the median time and
peak resident memory of: h5py reading it whole and NumPy summing it; rdarray on threads (1 and 2
workers), each partition read by its task; rdarray on the processes backend (2 workers, which
open the file themselves: their memory is not counted). The file is in the page cache after the
warm-up run, so this measures reading through HDF5, not the disk.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import rdarray as rd
from benchmarks.harness import median_seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    import h5py

    a = np.random.default_rng(0).normal(size=args.mb * 2**20 // 8)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for layout, chunks in (("contiguous", None), ("chunked", (2**20,))):
            path = os.path.join(tmp, f"{layout}.h5")
            with h5py.File(path, "w") as f:
                f.create_dataset("x", data=a, chunks=chunks)
            with h5py.File(path, "r") as f:
                dataset = f["x"]
                cases = {"h5py [:] + numpy": lambda dataset=dataset: float(dataset[:].sum())}
                contexts = {f"rdarray threads, {w} worker(s)": rd.Context(backend="threads", workers=w) for w in (1, 2)}
                contexts["rdarray processes, 2 workers"] = rd.Context(backend="processes", workers=2)
                for name, ctx in contexts.items():
                    cases[name] = lambda ctx=ctx, dataset=dataset: _summed(ctx, dataset)
                print(f"{layout}: {a.nbytes / 1e6:.0f} MB, {rd.from_array(dataset).npartitions} partitions")
                for name, fn in cases.items():
                    seconds, value, peak = median_seconds(fn, args.repeat, trim=True)
                    assert np.isclose(value, a.sum()), (name, value)
                    memory = "" if peak is None else f", peak RSS +{peak / 1e6:.0f} MB"
                    print(f"  {name:32s} {seconds:.3f} s{memory}")
                for ctx in contexts.values():
                    ctx.close()


def _summed(ctx, dataset) -> float:
    with ctx.as_default():
        return float(rd.from_array(dataset).sum())


if __name__ == "__main__":
    main()
