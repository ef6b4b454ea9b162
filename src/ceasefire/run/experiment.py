"""Run a scenario: sample the parameters, simulate in chunks of samples, gather the outcomes.

What to run (:class:`RunSpec`) is kept apart from how it is run; chunks are independent,
and sample ``s`` always draws from its own seed, so results do not depend on the chunk size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ceasefire import __version__
from ceasefire.model.engine import Outcomes, RunConfig, Structure, per_path, simulate
from ceasefire.run.sampling import Seeds, Values, check_levers, sample_parameters
from ceasefire.scenario.schema import Scenario


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's numbers."""

    samples: int
    paths: int
    seed: int
    horizon: int
    lookahead: int
    policy: str = "myopic"
    levers: Mapping[str, float] = field(default_factory=dict)
    allow_settlement: bool = True
    record: bool = False

    @classmethod
    def from_scenario(cls, scenario: Scenario, **overrides: object) -> RunSpec:
        base = cls(
            samples=scenario.run.samples,
            paths=scenario.run.paths,
            seed=scenario.run.seed,
            horizon=scenario.scenario.horizon,
            lookahead=scenario.run.lookahead,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given)  # type: ignore[arg-type]

    def validate(self, scenario: Scenario) -> None:
        for name in ("samples", "paths", "horizon", "lookahead"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        check_levers(scenario, self.levers)


@dataclass(frozen=True)
class RunResult:
    scenario: Scenario
    spec: RunSpec
    parameters: Values  # per sample
    outcomes: Outcomes
    terms: tuple[str, ...]
    seconds: float
    version: str = __version__


def chunk_size_for(paths: int, horizon: int, budget_bytes: int = 256 * 2**20) -> int:
    """Samples per chunk so that the pre-drawn noise stays within ``budget_bytes``."""
    per_sample = horizon * paths * 10 * 8 + paths * 200 * 8
    return max(1, budget_bytes // per_sample)


def run(
    scenario: Scenario,
    spec: RunSpec,
    chunk_samples: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Simulate ``spec.samples`` outer samples of ``spec.paths`` paths each."""
    spec.validate(scenario)
    start = time.perf_counter()
    seeds = Seeds.from_seed(spec.seed, spec.samples)
    values = sample_parameters(scenario, spec.samples, seeds.parameters)
    config = RunConfig(
        horizon=spec.horizon,
        lookahead=spec.lookahead,
        policy=spec.policy,
        allow_settlement=spec.allow_settlement,
        record=spec.record,
    )
    size = chunk_samples or chunk_size_for(spec.paths, spec.horizon)
    parts = []
    for lo in range(0, spec.samples, size):
        hi = min(lo + size, spec.samples)
        chunk_values = {k: v[lo:hi] for k, v in values.items()}
        gens = [seeds.path_generator(s) for s in range(lo, hi)]
        parts.append(
            simulate(
                scenario, per_path(chunk_values, spec.paths), gens, spec.paths, config, spec.levers, sample_offset=lo
            )
        )
        if progress is not None:
            progress(hi, spec.samples)
    outcomes = concatenate(parts)
    return RunResult(
        scenario=scenario,
        spec=spec,
        parameters=values,
        outcomes=outcomes,
        terms=Structure.from_scenario(scenario).terms,
        seconds=time.perf_counter() - start,
    )


def concatenate(parts: list[Outcomes]) -> Outcomes:
    """Join the outcomes of consecutive chunks."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    fields: dict[str, object] = {}
    for name in first.__dataclass_fields__:
        value = getattr(first, name)
        axis = 1 if name == "trajectories" else 0
        if isinstance(value, dict):
            fields[name] = {k: np.concatenate([getattr(o, name)[k] for o in parts], axis=axis) for k in value}
        else:
            fields[name] = np.concatenate([getattr(o, name) for o in parts])
    return Outcomes(**fields)  # type: ignore[arg-type]
