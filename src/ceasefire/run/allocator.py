"""The C allocator's thresholds for the engine's many large temporary arrays (glibc only).

NumPy takes its arrays' memory from ``malloc``. glibc serves a request above its *mmap threshold*
with fresh pages from the kernel, and gives the top of its heap back to the kernel once more than
its *trim threshold* is free there. Both thresholds adapt (the mmap threshold rises to the size of
a freed block, at most 32 MiB; the trim threshold follows at twice that), but the engine makes
and frees arrays of a few MiB to tens of MiB every month of every run, so many of them still land on
fresh pages, which the kernel faults in and zeroes one by one. :func:`keep_freed_memory` fixes the
thresholds high enough that freed arrays stay in the process for the next ones.

The numbers computed are the same: only where their memory comes from changes. The time saved and
the peak memory with and without it are measured in docs/performance.md.

It is applied by the ``ceasefire`` command and in the worker processes of :mod:`ceasefire.run.executor`,
never on import: a library does not change its host process's allocator unasked. A Python session
may call it itself. Thresholds set in the environment (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, read by glibc at start-up) are left as they are, and so is everything with
``CEASEFIRE_ALLOCATOR=default`` (glibc's own adaptive thresholds: less memory held, more time).
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Mapping

__all__ = ["ALLOCATOR_ENV", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory", "one_threshold_set"]

MMAP_THRESHOLD = 64 << 20
"""Bytes: larger blocks get their own pages from the kernel (and give them back when freed)."""
TRIM_THRESHOLD = 256 << 20
"""Bytes of free memory at the top of the heap kept for later arrays before the rest is given back."""

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters, <malloc.h>
_M_MMAP_THRESHOLD = -3
_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
ALLOCATOR_ENV = "CEASEFIRE_ALLOCATOR"
"""``default`` leaves glibc's thresholds alone."""

_applied = False


def keep_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds at :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD`.

    Returns whether they are set (now or by an earlier call): ``False`` on a C library other than
    glibc, where the environment sets either threshold, or with :data:`ALLOCATOR_ENV` ``=default``
    (the user's choice stands).
    """
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in _ENVIRONMENT) or os.environ.get(ALLOCATOR_ENV, "").strip() == "default":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied


def one_threshold_set(environ: Mapping[str, str] | None = None) -> str | None:
    """The variable, where the environment (default: this process's) sets one of glibc's two thresholds
    and not the other.

    Setting either fixes both (the other at its 128 KiB default), so nearly every array gets fresh
    pages or is given back at once: with Dask's setting the engine ran 4.3 times slower on one core
    here. Dask's nanny does this to its workers (``MALLOC_TRIM_THRESHOLD_=65536``, its
    ``distributed.nanny.pre-spawn-environ``).
    """
    env = os.environ if environ is None else environ
    given = [name for name in _ENVIRONMENT if name in env]
    return given[0] if len(given) == 1 else None
