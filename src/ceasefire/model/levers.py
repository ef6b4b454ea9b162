"""Outside levers applied to the parameters on the paths where they are carried out.

A lever changes one parameter of the war (its :class:`~ceasefire.model.structure.LeverSpec` target)
by ``per_unit * x`` (``add``) or by the factor ``1 + per_unit * x`` (``multiply``) at intensity ``x``,
on the paths where it is carried out and sustained (drawn with its credibility); the changed value is
clipped into the target's domain, so a probability stays in [0, 1]. Levers on the same target
compound in the scenario's order. The same function serves NumPy and JAX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ceasefire.model.params import Array, Params, get_at, replace_at
from ceasefire.model.structure import Structure
from ceasefire.model.xp import namespace


def intensities(structure: Structure, given: Mapping[str, Array] | None) -> tuple[Array, ...]:
    """Each of the scenario's levers' intensity, in order: a number or one per path (0 where not given)."""
    given = dict(given or {})
    return tuple(given.get(lv.id, 0.0) for lv in structure.levers)


def carried_out(params: Params, uniforms: Array) -> tuple[Array, ...]:
    """Whether each lever is carried out on each path: its uniform ``(paths, levers)`` below its credibility."""
    return tuple(uniforms[..., j] < lever.credibility for j, lever in enumerate(params.levers))


def apply(params: Params, structure: Structure, intensity: Sequence[Array], carried: Sequence[Array]) -> Params:
    """The parameters with every lever applied where it is carried out and its intensity is not zero.

    ``intensity`` and ``carried`` follow ``structure.levers``. The levers' own numbers (``per_unit``)
    are read from ``params`` as given, before any lever: a lever cannot change another.
    """
    out = params
    for spec, lever, x, on in zip(structure.levers, params.levers, intensity, carried, strict=True):
        if isinstance(x, (int, float, np.ndarray)) and not np.any(x):
            continue  # nothing to change anywhere (a traced JAX intensity is applied, and is 0 where so)
        base = get_at(out, spec.target)
        xp = namespace(base, x, lever.per_unit)
        change = lever.per_unit * x
        changed = base + change if spec.effect == "add" else base * (1.0 + change)
        out = replace_at(out, spec.target, xp.where(on & (x != 0.0), xp.clip(changed, spec.low, spec.high), base))
    return out
