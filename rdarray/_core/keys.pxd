# Fused key types shared by the kernels over sorted keys (ranges, asof): the dtypes their Python
# callers convert keys to, one compiled specialization of each kernel per type.
from libc.stdint cimport int32_t, int64_t, uint64_t


ctypedef fused key_t:
    int32_t
    int64_t
    uint64_t
    float
    double
