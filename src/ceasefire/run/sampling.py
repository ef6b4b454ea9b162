"""The outer sample of uncertain parameters and the seeds of a run.

Randomness is always an argument: a run's seed becomes a :class:`numpy.random.SeedSequence`
whose first child draws the parameter sample (a Latin hypercube over every uncertain
parameter, mapped through each parameter's quantile function) and whose second child has one
child per candidate sample for that sample's paths. A sample therefore sees the same random
numbers however the samples are split into chunks or processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

from ceasefire.model.engine import child
from ceasefire.scenario.schema import Scenario, iter_params

Values = dict[str, NDArray[np.float64]]


@dataclass(frozen=True)
class Seeds:
    """The seed tree of one run."""

    parameters: np.random.SeedSequence
    paths: np.random.SeedSequence

    @classmethod
    def from_seed(cls, seed: int) -> Seeds:
        root = np.random.SeedSequence(seed)
        params, paths = root.spawn(2)
        return cls(parameters=params, paths=paths)

    def path_seed(self, candidate: int) -> np.random.SeedSequence:
        """The seed of candidate sample ``candidate``'s paths (its true and imagined wars)."""
        return child(self.paths, candidate)


def sample_parameters(scenario: Scenario, samples: int, seed: np.random.SeedSequence | int | None) -> Values:
    """Draw ``samples`` values of every parameter: a Latin hypercube over the uncertain ones.

    Returns a dict from dotted parameter path to an array of shape ``(samples,)``.
    """
    params = list(iter_params(scenario))
    uncertain = [(path, p) for path, p in params if not p.is_fixed]
    rng = np.random.default_rng(seed)
    u = qmc.LatinHypercube(d=max(len(uncertain), 1), rng=rng).random(samples)
    values: Values = {}
    for path, p in params:
        values[path] = np.full(samples, p.nominal()) if p.is_fixed else np.empty(0)
    for j, (path, p) in enumerate(uncertain):
        values[path] = p.ppf(u[:, j])
    return values


def check_levers(scenario: Scenario, intensities: Mapping[str, float]) -> None:
    """Raise ``ValueError`` for unknown levers or intensities outside ``[0, intensity_max]``."""
    known = {lv.id: lv for lv in scenario.levers}
    for lever_id, x in intensities.items():
        if lever_id not in known:
            raise ValueError(f"unknown lever '{lever_id}' (levers: {', '.join(known) or 'none'})")
        lv = known[lever_id]
        if not (0.0 <= x <= lv.intensity_max) or not np.isfinite(x):
            raise ValueError(f"lever '{lever_id}': intensity must lie in [0, {lv.intensity_max:g}], got {x:g}")
