"""The numerical code paths a run took on this machine, recorded beside its results.

The scenario, seed and version fix a run's numbers on one machine, bit for bit, in any process
count. On another machine two things may change the last bits: NumPy dispatches its ``exp``,
``log`` and ``power`` to kernels for the CPU's vector extensions (AVX2, AVX-512), which round
differently in the last place; and OpenBLAS picks matrix kernels for the CPU, which the leaders'
least-squares fits use. A change in the last bit can move a decision that sits exactly on its
boundary, so two machines agree in distribution, not path by path. Measured on the development
machine (an AMD EPYC with AVX-512): the myopic policy's outcomes change when NumPy's AVX-512 kernels
are switched off (``NPY_DISABLE_CPU_FEATURES``), the optimal policy's when OpenBLAS is told to use
its Haswell kernels (``OPENBLAS_CORETYPE``). The manifest records both, so that two results can
be told apart by where they were computed.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np


def numerical_platform() -> dict[str, Any]:
    """Python's and NumPy's versions, the CPU features NumPy's kernels dispatch to here, and each
    BLAS library loaded with the kernels it chose (``architecture``)."""
    from threadpoolctl import threadpool_info

    config = np.show_config(mode="dicts") or {}
    simd = config.get("SIMD Extensions", {})
    found = {
        tuple(str(info.get(k)) for k in ("internal_api", "version", "architecture"))
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    }
    blas = [dict(zip(("library", "version", "architecture"), lib, strict=True)) for lib in sorted(found)]
    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_simd": list(simd.get("found", [])),
        "blas": blas,
    }
