"""Which array library a kernel computes with: NumPy, or ``jax.numpy`` for JAX arrays.

The model's pure kernels (:mod:`.attrition`, :mod:`.economy`, :mod:`.hazard`, :mod:`.leader`,
:mod:`.bargaining`, :mod:`ceasefire.model.bargaining_range`) are written once, against the array
namespace of their arguments (``xp = namespace(...)``), and serve both the NumPy engine and the
JAX one (:mod:`ceasefire.model.jax`): one formula, no twin to drift from it.

JAX is optional (the ``jax`` extra): this module never imports it. An argument can only be a JAX
array if ``jax`` has already been imported by someone else, so NumPy users neither need JAX nor pay
for importing it, and their kernels call NumPy exactly as before.
"""

from __future__ import annotations

import contextlib
import sys
from types import ModuleType

import numpy as np

_NUMPY = (np.ndarray, np.generic, float, int)
"""Types that are never JAX arrays (``bool`` is an ``int``)."""


def namespace(*arrays: object) -> ModuleType:
    """``jax.numpy`` when any argument is a JAX array (a tracer inside ``jax.jit`` included), else ``numpy``.

    Python and NumPy scalars and NumPy arrays say nothing: a kernel given only those computes in NumPy.
    """
    jax = sys.modules.get("jax")
    if jax is not None:
        for a in arrays:
            # NumPy's own types first: the check against jax.Array is ten times slower
            if not isinstance(a, _NUMPY) and isinstance(a, jax.Array):
                import jax.numpy as jnp

                return jnp
    return np


def ignore_invalid(xp: ModuleType) -> contextlib.AbstractContextManager[object]:
    """NumPy's floating-point ``invalid`` warnings off (comparisons with NaN under older NumPy);
    nothing to switch off for JAX, which does not warn."""
    return np.errstate(invalid="ignore") if xp is np else contextlib.nullcontext()
