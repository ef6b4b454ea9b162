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
from ceasefire.model.decision import N_FEATURES
from ceasefire.model.engine import (
    BELIEFS,
    PATH_BLOCK,
    POLICIES,
    Outcomes,
    RunConfig,
    Structure,
    child,
    fit_rules,
    path_blocks,
    per_path,
    simulate,
)
from ceasefire.run.guards import check_chunk
from ceasefire.run.sampling import Seeds, Values, check_levers, sample_parameters
from ceasefire.scenario.schema import Scenario

BACKENDS = ("numpy", "jax")
"""Engines that simulate a chunk: :mod:`ceasefire.model.engine` and :mod:`ceasefire.model.jax_engine`."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines a run's numbers."""

    samples: int
    paths: int
    seed: int
    horizon: int
    lookahead: int
    policy: str = "optimal"
    beliefs: str = "scenario"
    levers: Mapping[str, float] = field(default_factory=dict)
    allow_settlement: bool = True
    record: bool = False
    bargaining_range: bool = True
    backend: str = "numpy"
    """``numpy`` or ``jax`` (the ``jax`` extra; same model, same distributions, own random numbers)."""

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
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy '{self.policy}' (policies: {', '.join(POLICIES)})")
        if self.beliefs not in BELIEFS:
            raise ValueError(f"unknown beliefs '{self.beliefs}' (beliefs: {', '.join(BELIEFS)})")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend '{self.backend}' (backends: {', '.join(BACKENDS)})")
        check_levers(scenario, self.levers)

    def config(self) -> RunConfig:
        return RunConfig(
            horizon=self.horizon,
            lookahead=self.lookahead,
            policy=self.policy,
            beliefs=self.beliefs,
            allow_settlement=self.allow_settlement,
            record=self.record,
            bargaining_range=self.bargaining_range,
            backend=self.backend,
        )

    def observed_world(self) -> RunSpec:
        """The spec whose month 0 is checked against an observed no-deal start: no levers, the
        scenario's beliefs."""
        return replace(self, levers={}, beliefs="scenario")


@dataclass(frozen=True)
class RunResult:
    scenario: Scenario
    spec: RunSpec
    parameters: Values  # per sample
    samples_drawn: int  # parameter samples drawn to find spec.samples consistent with the scenario
    candidates: NDArray[np.int64]  # per sample: its index among the samples drawn (its seed)
    outcomes: Outcomes
    terms: tuple[str, ...]
    seconds: float
    version: str = __version__


MAX_DRAWS = 20
"""Latin hypercubes of ``samples`` parameter samples tried, at most, to find enough consistent
with a no-deal start."""


def candidate_parameters(scenario: Scenario, samples: int, seeds: Seeds, batch: int) -> Values:
    """Batch ``batch`` of candidate parameter samples: a Latin hypercube from its own child seed."""
    seed = seeds.parameters if batch == 0 else child(seeds.parameters, batch)
    return sample_parameters(scenario, samples, seed)


def chunk_size_for(paths: int, horizon: int, policy: str = "optimal", budget_bytes: int = 512 * 2**20) -> int:
    """Samples per chunk so that the noise and the leaders' stopping problems stay within ``budget_bytes``."""
    noise = horizon * paths * 10 * 8
    per_sample = noise + paths * 400 * 8
    if policy == "optimal":
        # two imagined wars, and two stopping problems (state, stop, flow, discount) per leader
        per_sample += 2 * noise + 4 * (horizon + 1) * paths * (N_FEATURES + 3) * 8
    return max(1, budget_bytes // per_sample)


def _take(values: Values, rows: NDArray[np.int64]) -> Values:
    return {k: v[rows] for k, v in values.items()}


def blocks_per_group(horizon: int, budget_bytes: int = 512 * 2**20) -> int:
    """Path blocks of the true war simulated together when a sample has more than :data:`PATH_BLOCK` paths.

    A block's noise and state are counted as in :func:`chunk_size_for`; its leaders' rules are
    already fitted.
    """
    return max(1, budget_bytes // (PATH_BLOCK * (horizon * 10 * 8 + 400 * 8)))


def simulate_samples(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    levers: Mapping[str, float],
    offset: int = 0,
) -> Outcomes:
    """Simulate the samples ``values`` (per-sample arrays, one seed each), ``paths`` paths each.

    A sample of at most :data:`ceasefire.model.engine.PATH_BLOCK` paths is simulated whole, in
    one call of :func:`ceasefire.model.engine.simulate`. A larger one is simulated block by
    block, so that memory stays flat in paths: each leader's rules are fitted on the first
    ``PATH_BLOCK`` paths of his imagined war, then the true war runs in groups of blocks, block
    ``b`` of a sample drawing its own noise (keyed by ``b``, whatever the grouping). The result is
    laid out as if simulated whole: sample by sample, path by path.
    """
    if paths <= PATH_BLOCK:
        return simulate(scenario, per_path(values, paths), seeds, paths, config, levers, sample_offset=offset)
    n_samples = len(seeds)
    train = PATH_BLOCK
    rules = fit_rules(scenario, per_path(values, train), seeds, train, config, levers)
    out: Outcomes | None = None
    group = blocks_per_group(config.horizon)
    # (sample, block, first path, end): grouped by length, as a sample's last block may be shorter
    units = [(i, b, lo, hi) for b, (lo, hi) in enumerate(path_blocks(paths)) for i in range(n_samples)]
    by_length: dict[int, list[tuple[int, int, int, int]]] = {}
    for unit in units:
        by_length.setdefault(unit[3] - unit[2], []).append(unit)
    for length, same in by_length.items():
        for start in range(0, len(same), group):
            part = same[start : start + group]
            who = np.array([i for i, _, _, _ in part], dtype=np.int64)
            result = simulate(
                scenario,
                per_path(_take(values, who), length),
                [seeds[i] for i in who],
                length,
                config,
                levers,
                block=[b for _, b, _, _ in part],
                rules=None if rules is None else rules.take(who),
            )
            rows = np.concatenate([i * paths + np.arange(lo, hi) for i, _, lo, hi in part])
            if out is None:
                out = _empty_like(result, n_samples * paths)
            _scatter(out, result, rows)
    if out is None:  # pragma: no cover - paths > PATH_BLOCK means at least one block
        raise RuntimeError("no path block was simulated")
    out.sample = np.repeat(np.arange(n_samples, dtype=np.int64) + offset, paths)
    return out


def _empty_like(template: Outcomes, n: int) -> Outcomes:
    """Outcomes of ``n`` paths shaped like ``template``'s, to be filled by :func:`_scatter`."""
    fields: dict[str, object] = {}
    for name in template.__dataclass_fields__:
        value = getattr(template, name)
        if isinstance(value, dict):
            per_month = name in _PER_MONTH
            fields[name] = {
                k: np.empty((v.shape[0], n, *v.shape[2:]) if per_month else (n, *v.shape[1:]), dtype=v.dtype)
                for k, v in value.items()
            }
        else:
            fields[name] = np.empty((n, *value.shape[1:]), dtype=value.dtype)
    return Outcomes(**fields)  # type: ignore[arg-type]


def _scatter(out: Outcomes, part: Outcomes, rows: NDArray[np.int64]) -> None:
    """Write ``part``'s paths into ``out`` at ``rows``."""
    for name in out.__dataclass_fields__:
        target, value = getattr(out, name), getattr(part, name)
        if isinstance(target, dict):
            for k, v in value.items():
                if name in _PER_MONTH:
                    target[k][:, rows] = v
                else:
                    target[k][rows] = v
        else:
            target[rows] = value


def _simulate_rows(
    scenario: Scenario,
    spec: RunSpec,
    config: RunConfig,
    values: Values,
    rows: NDArray[np.int64],
    candidates: NDArray[np.int64],
    seeds: Seeds,
    levers: Mapping[str, float],
    offset: int,
) -> Outcomes:
    """Simulate the samples ``rows`` of ``values``, whose candidate numbers (seeds) are ``candidates``."""
    chunk, chunk_seeds = _take(values, rows), [seeds.path_seed(int(c)) for c in candidates]
    if config.backend == "jax":  # an optional extra: imported only when asked for
        from ceasefire.model import jax_engine

        out = jax_engine.simulate(
            scenario, per_path(chunk, spec.paths), chunk_seeds, spec.paths, config, levers, sample_offset=offset
        )
    else:
        out = simulate_samples(scenario, chunk, chunk_seeds, spec.paths, config, levers, offset)
    return check_chunk(out, scenario, chunk, chunk_seeds, spec.paths, config, levers, offset, candidates)


def _simulate_chunks(
    scenario: Scenario,
    spec: RunSpec,
    values: Values,
    candidates: NDArray[np.int64],
    seeds: Seeds,
    size: int,
    progress: Callable[[int, int], None] | None,
) -> Outcomes:
    parts = []
    config = spec.config()
    for lo in range(0, len(candidates), size):
        hi = min(lo + size, len(candidates))
        rows = np.arange(lo, hi)
        parts.append(_simulate_rows(scenario, spec, config, values, rows, candidates[lo:hi], seeds, spec.levers, lo))
        if progress is not None:
            progress(hi, len(candidates))
    return concatenate(parts)


def _screen(
    scenario: Scenario,
    spec: RunSpec,
    seeds: Seeds,
    size: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[Values, NDArray[np.int64], Outcomes]:
    """Simulate candidate samples in order and keep the first ``spec.samples`` with no deal in month 0.

    The month-0 decision is the same on every path of a sample (the state is, and so are the
    leaders' values), and a sample's simulation depends on its own seed alone: the kept set
    and its outcomes do not depend on the chunk size.
    """
    config = spec.observed_world().config()
    kept_values: list[Values] = []
    kept_ids: list[NDArray[np.int64]] = []
    kept_outcomes: list[Outcomes] = []
    found = 0
    for batch in range(MAX_DRAWS):
        values = candidate_parameters(scenario, spec.samples, seeds, batch)
        lo = 0
        while lo < spec.samples and found < spec.samples:
            # a little more than is still needed, so that the last chunk wastes little
            want = spec.samples - found
            hi = min(lo + min(size, want + max(2, want // 8)), spec.samples)
            rows = np.arange(lo, hi)
            ids = batch * spec.samples + rows
            out = _simulate_rows(scenario, spec, config, values, rows, ids, seeds, {}, 0)
            at_zero = np.bincount(out.sample, weights=(out.first_settlement == 0), minlength=len(rows)) > 0
            keep = np.flatnonzero(~at_zero)[: spec.samples - found]
            if keep.size:
                kept_values.append(_take(values, rows[keep]))
                kept_ids.append(ids[keep])
                kept_outcomes.append(select_samples(out, keep, offset=found))
            found += keep.size
            lo = hi
            if progress is not None:
                progress(found, spec.samples)
        if found >= spec.samples:
            joined = {k: np.concatenate([v[k] for v in kept_values]) for k in kept_values[0]}
            return joined, np.concatenate(kept_ids), concatenate(kept_outcomes)
    raise ValueError(
        f"only {found} of {MAX_DRAWS * spec.samples} parameter samples are consistent with no deal at "
        f"the start ([scenario] no_deal_at_start); the scenario's ranges make a deal in month 0 almost certain"
    )


def run(
    scenario: Scenario,
    spec: RunSpec,
    chunk_samples: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    samples_of: RunResult | None = None,
) -> RunResult:
    """Simulate ``spec.samples`` outer samples of ``spec.paths`` paths each.

    With ``[scenario] no_deal_at_start`` the samples are those consistent with the observed
    start, found in the world without levers and with the scenario's beliefs; a run with levers
    or other beliefs then simulates the same samples with the same seeds (common random numbers).
    ``samples_of``, an earlier run of the same scenario, seed and sizes, gives those samples
    without searching for them again.
    """
    spec.validate(scenario)
    start = time.perf_counter()
    seeds = Seeds.from_seed(spec.seed)
    size = chunk_samples or chunk_size_for(spec.paths, spec.horizon, spec.policy)
    if samples_of is not None:
        earlier = samples_of.spec
        if (samples_of.scenario, earlier.seed, earlier.samples, earlier.paths, earlier.horizon) != (
            scenario,
            spec.seed,
            spec.samples,
            spec.paths,
            spec.horizon,
        ):
            raise ValueError("samples_of must be a run of the same scenario, seed, samples, paths and horizon")
        values, candidates = samples_of.parameters, samples_of.candidates
        outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, size, progress)
    elif scenario.scenario.no_deal_at_start and spec.allow_settlement:
        values, candidates, outcomes = _screen(scenario, spec, seeds, size, progress)
        if spec != spec.observed_world():
            outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, size, progress)
    else:
        values = candidate_parameters(scenario, spec.samples, seeds, 0)
        candidates = np.arange(spec.samples, dtype=np.int64)
        outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, size, progress)
    return RunResult(
        scenario=scenario,
        spec=spec,
        parameters=values,
        samples_drawn=int(candidates[-1]) + 1,
        candidates=candidates,
        outcomes=outcomes,
        terms=Structure.from_scenario(scenario).terms,
        seconds=time.perf_counter() - start,
    )


_PER_MONTH = ("trajectories", "monthly")


def select_samples(outcomes: Outcomes, keep: NDArray[np.int64], offset: int = 0) -> Outcomes:
    """The outcomes of the samples ``keep`` (chunk-local indices), renumbered from ``offset``."""
    rows = np.isin(outcomes.sample, keep)
    renumber = np.full(int(outcomes.sample.max()) + 1, -1, dtype=np.int64)
    renumber[keep] = np.arange(keep.size) + offset
    fields: dict[str, object] = {}
    for name in outcomes.__dataclass_fields__:
        value = getattr(outcomes, name)
        if name == "sample":
            fields[name] = renumber[value[rows]]
        elif isinstance(value, dict):
            fields[name] = {k: (v[:, rows] if name in _PER_MONTH else v[rows]) for k, v in value.items()}
        else:
            fields[name] = value[rows]
    return Outcomes(**fields)  # type: ignore[arg-type]


def concatenate(parts: list[Outcomes]) -> Outcomes:
    """Join the outcomes of consecutive chunks."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    fields: dict[str, object] = {}
    for name in first.__dataclass_fields__:
        value = getattr(first, name)
        axis = 1 if name in _PER_MONTH else 0
        if isinstance(value, dict):
            fields[name] = {k: np.concatenate([getattr(o, name)[k] for o in parts], axis=axis) for k in value}
        else:
            fields[name] = np.concatenate([getattr(o, name) for o in parts])
    return Outcomes(**fields)  # type: ignore[arg-type]
