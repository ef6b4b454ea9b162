"""Run a scenario: sample the parameters, simulate in chunks of samples, gather the outcomes.

What to run (:class:`RunSpec`) is kept apart from how it is run; chunks are independent,
and sample ``s`` always draws from its own seed, so results do not depend on the chunk size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

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
    samples_drawn: int  # parameter samples drawn to find spec.samples consistent with the scenario
    outcomes: Outcomes
    terms: tuple[str, ...]
    seconds: float
    version: str = __version__


MAX_DRAWS = 20
"""Batches of parameter samples tried, at most, to find enough consistent with a no-deal start."""


def settles_at_start(scenario: Scenario, values: Values, lookahead: int) -> NDArray[np.bool_]:
    """Per sample: would both leaders settle in month 0, without levers?

    The state at month 0 is the same on every path of a sample and the decision uses no noise,
    so one path per sample decides.
    """
    samples = next(iter(values.values())).size
    config = RunConfig(horizon=1, lookahead=lookahead)
    gens = [np.random.default_rng(0) for _ in range(samples)]
    return simulate(scenario, per_path(values, 1), gens, 1, config).first_settlement == 0


def sample_consistent_parameters(scenario: Scenario, spec: RunSpec, seeds: Seeds) -> tuple[Values, int]:
    """The outer sample, conditioned on the scenario's observations.

    With ``[scenario] no_deal_at_start``, samples under which the leaders would settle in month 0
    contradict the observed start (the war is going on) and are replaced, in order, by samples
    of further Latin hypercubes drawn from child seeds. Returns the values and how many samples
    were drawn in all.
    """
    values = sample_parameters(scenario, spec.samples, seeds.parameters)
    if not scenario.scenario.no_deal_at_start:
        return values, spec.samples
    kept: list[Values] = []
    found, drawn = 0, 0
    for batch in range(MAX_DRAWS):
        if batch:
            child = np.random.SeedSequence(seeds.parameters.entropy, spawn_key=(*seeds.parameters.spawn_key, batch))
            values = sample_parameters(scenario, spec.samples, child)
        ok = ~settles_at_start(scenario, values, spec.lookahead)
        kept.append({k: v[ok] for k, v in values.items()})
        if found + int(ok.sum()) >= spec.samples:
            # count the samples examined up to the last one kept
            drawn += int(np.flatnonzero(ok)[spec.samples - found - 1]) + 1
            joined = {k: np.concatenate([b[k] for b in kept])[: spec.samples] for k in values}
            return joined, drawn
        found += int(ok.sum())
        drawn += spec.samples
    raise ValueError(
        f"only {found} of {drawn} parameter samples are consistent with no deal at the start "
        f"([scenario] no_deal_at_start); the scenario's ranges make a deal in month 0 almost certain"
    )


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
    values, drawn = sample_consistent_parameters(scenario, spec, seeds)
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
        samples_drawn=drawn,
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
