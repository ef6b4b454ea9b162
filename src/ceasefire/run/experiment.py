"""Run a scenario: sample the parameters, simulate in chunks of samples, gather the outcomes.

What to run (:class:`RunSpec`) is kept apart from how it is run; chunks are independent,
and sample ``s`` always draws from its own seed, so results do not depend on the chunk size.
Chunks of samples, and for samples of many paths the leaders' rules and groups of path blocks,
are computed by one executor (:mod:`ceasefire.run.executor`) on all the cores; the results are put
back in order, so the numbers do not depend on the number of workers either.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasefire import __version__
from ceasefire.model.engine import (
    BELIEFS,
    PATH_BLOCK,
    POLICIES,
    Outcomes,
    RunConfig,
    child,
    fit_rules,
    monthly_paths,
    path_blocks,
    per_path,
    simulate_chunk,
)
from ceasefire.model.rules import LeaderRules, join_rules
from ceasefire.run.budget import CHUNK_BYTES, sample_bytes
from ceasefire.run.executor import Executor, InlineExecutor, check_workers, executor_for, split
from ceasefire.run.guards import check_chunk
from ceasefire.run.sampling import Seeds, Values, check_levers, sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.schema import Scenario

BACKENDS = ("numpy", "jax")
"""Engines that simulate a chunk: :mod:`ceasefire.model.engine` and :mod:`ceasefire.model.jax.engine`."""


def check_backend(backend: str) -> None:
    """A ``ValueError`` naming what is wrong unless ``backend`` is known and, for ``jax``, installed."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend '{backend}' (backends: {', '.join(BACKENDS)})")
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        raise ValueError("backend 'jax' needs jax, which is not installed: pip install 'ceasefire[jax]'")


def check_settings(spec: Any, sizes: tuple[str, ...]) -> None:
    """A ``ValueError`` naming what is wrong unless the ``sizes`` of a run's or a sweep's ``spec`` are
    positive whole numbers and its policy, beliefs and backend are known."""
    for name in sizes:
        value = getattr(spec, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    if spec.policy not in POLICIES:
        raise ValueError(f"unknown policy '{spec.policy}' (policies: {', '.join(POLICIES)})")
    if spec.beliefs not in BELIEFS:
        raise ValueError(f"unknown beliefs '{spec.beliefs}' (beliefs: {', '.join(BELIEFS)})")
    check_backend(spec.backend)


S = TypeVar("S")


def spec_from_scenario(cls: type[S], scenario: Scenario, overrides: Mapping[str, object], **base: object) -> S:
    """A run's or a sweep's spec: the scenario's run defaults and ``base``, with ``overrides`` that are not ``None``."""
    run, horizon = scenario.run, scenario.scenario.horizon
    fields = {"paths": run.paths, "seed": run.seed, "horizon": horizon, "lookahead": run.lookahead, **base}
    fields.update((k, v) for k, v in overrides.items() if v is not None)
    return cls(**fields)


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
    workers: int | None = field(default=None, compare=False)
    """Cores the run is computed on (``None``: automatic, see :func:`ceasefire.run.executor.resolve_workers`).
    How it is run, not what: no number depends on it, and specs differing only here are equal."""

    @classmethod
    def from_scenario(cls, scenario: Scenario, **overrides: object) -> RunSpec:
        return spec_from_scenario(cls, scenario, overrides, samples=scenario.run.samples)

    def validate(self, scenario: Scenario) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        check_settings(self, ("samples", "paths", "horizon", "lookahead"))
        check_workers(self.workers)
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


def chunk_size_for(paths: int, horizon: int, policy: str = "optimal") -> int:
    """Samples per chunk so that the noise and the leaders' stopping problems stay within :data:`CHUNK_BYTES`."""
    return max(1, CHUNK_BYTES // sample_bytes(paths, horizon, policy))


def _take(values: Values, rows: NDArray[np.int64]) -> Values:
    return {k: v[rows] for k, v in values.items()}


def blocks_per_group(horizon: int) -> int:
    """Path blocks of the true war simulated together when a sample has more than :data:`PATH_BLOCK` paths.

    A block's noise and state are counted as in :func:`chunk_size_for`; its leaders' rules are
    already fitted (so no stopping problems, as for the myopic policy).
    """
    return max(1, CHUNK_BYTES // sample_bytes(PATH_BLOCK, horizon, "myopic"))


def _slice(values: Values, lo: int, hi: int) -> Values:
    return {k: v[lo:hi] for k, v in values.items()}


BLOCKS_PER_UNIT = 4
"""Path blocks a unit of work holds at least (where there are enough for one unit per worker) when
the blocks of large samples are shared out: 16,384 paths, so that the fixed cost of each call of the
engine stays small against its work (one sample of 10^5 paths, myopic policy, 2 workers: 1.40 s with
units of 4 blocks, 1.55 s with units of 2; docs/performance.md)."""


def samples_per_unit(paths: int) -> int:
    """Samples of ``paths`` paths a unit of work holds at least when the work is shared out: together at
    least :data:`PATH_BLOCK` paths, so that each call of the engine still vectorizes well (its cost
    per call is that of some 800 paths of the flagship, measured in docs/performance.md)."""
    return max(1, -(-PATH_BLOCK // paths))


def path_steps(samples: int, paths: int, config: RunConfig) -> int:
    """The work of simulating ``samples`` samples of ``paths`` paths: months of true paths, and of the
    imagined paths the leaders' rules are fitted on (at most :data:`PATH_BLOCK` a sample and leader)."""
    steps = samples * paths * config.horizon
    if config.policy == "optimal" and config.allow_settlement:
        steps += 2 * samples * min(paths, PATH_BLOCK) * config.horizon
    return steps


def simulate_samples(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    levers: Mapping[str, float],
    offset: int = 0,
    workers: int | None = None,
    executor: Executor | None = None,
) -> Outcomes:
    """Simulate the samples ``values`` (per-sample arrays, one seed each), ``paths`` paths each.

    A sample of at most :data:`ceasefire.model.engine.PATH_BLOCK` paths is simulated whole, in
    one call of :func:`ceasefire.model.engine.simulate_chunk`. A larger one is simulated block by
    block, so that memory stays flat in paths: each leader's rules are fitted on the first
    ``PATH_BLOCK`` paths of his imagined war, then the true war runs in groups of blocks, block
    ``b`` of a sample drawing its own noise (keyed by ``b``, whatever the grouping). The result is
    laid out as if simulated whole: sample by sample, path by path.

    The work is shared out as groups of samples; for samples of more than ``PATH_BLOCK`` paths, the
    rules of groups of samples, then groups of path blocks (each given its samples' rules, not
    refitting them). ``executor``, an entered one (a run's), computes them; without it, an executor
    of ``workers`` cores (``None``: automatic, :func:`ceasefire.run.executor.resolve_workers`). The
    numbers do not depend on either. With the JAX backend every sample is simulated by
    :func:`simulate_values`, in this process (JAX uses the cores, or the GPU, by itself).
    """
    if config.backend == "jax":
        return simulate_values(scenario, values, seeds, paths, config, levers, offset)
    n_samples = len(seeds)
    whole = paths <= PATH_BLOCK
    if executor is None:
        most = n_samples if whole else n_samples * len(path_blocks(paths))
        useful = n_samples // samples_per_unit(paths) if whole else None
        work = path_steps(n_samples, paths, config)
        with executor_for(workers, work=work, units=most, useful=useful) as ex:
            return simulate_samples(scenario, values, seeds, paths, config, levers, offset, executor=ex)
    cores = executor.workers or 1
    if whole:
        if cores == 1:
            return simulate_values(scenario, values, seeds, paths, config, levers, offset)
        size = split(n_samples, cores, least=samples_per_unit(paths))
        bounds = [(lo, min(lo + size, n_samples)) for lo in range(0, n_samples, size)]
        tasks = (
            (scenario, _slice(values, lo, hi), seeds[lo:hi], paths, config, levers, offset + lo) for lo, hi in bounds
        )
        done = dict(executor.map_unordered(simulate_values, tasks))
        return concatenate([done[k] for k in range(len(bounds))])
    # (sample, block, first path, end): grouped by length, as a sample's last block may be shorter
    units = [(i, b, lo, hi) for b, (lo, hi) in enumerate(path_blocks(paths)) for i in range(n_samples)]
    rules = _fit(scenario, values, seeds, config, levers, executor)
    most = blocks_per_group(config.horizon)
    group = most if cores == 1 else split(len(units), 2 * cores, most, BLOCKS_PER_UNIT)
    by_length: dict[int, list[tuple[int, int, int, int]]] = {}
    for unit in units:
        by_length.setdefault(unit[3] - unit[2], []).append(unit)
    parts = [same[start : start + group] for same in by_length.values() for start in range(0, len(same), group)]

    def block_tasks() -> Iterator[tuple[Any, ...]]:
        for part in parts:
            who = np.array([i for i, _, _, _ in part], dtype=np.int64)
            length = part[0][3] - part[0][2]
            blocks = [b for _, b, _, _ in part]
            taken = None if rules is None else rules.take(who)
            yield scenario, _take(values, who), [seeds[i] for i in who], length, config, levers, blocks, taken

    out: Outcomes | None = None
    ranged = monthly_paths(n_samples, paths, config)
    column = np.cumsum(ranged) - 1  # a ranged path's column in the joined ``monthly``
    for k, result in executor.map_unordered(_simulate_blocks, block_tasks()):
        rows = np.concatenate([i * paths + np.arange(lo, hi) for i, _, lo, hi in parts[k]])
        if out is None:
            out = _empty_like(result, n_samples * paths, ranged)
        _scatter(out, result, rows, column)
    if out is None:  # pragma: no cover - paths > PATH_BLOCK means at least one block
        raise RuntimeError("no path block was simulated")
    out.sample = np.repeat(np.arange(n_samples, dtype=np.int64) + offset, paths)
    return out


def simulate_values(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    levers: Mapping[str, Any],
    offset: int = 0,
) -> Outcomes:
    """Samples of at most :data:`PATH_BLOCK` paths simulated whole, in this process: ``values`` per sample
    (flat, dotted paths), one seed per sample, levers by id (a number, or one per path). With
    ``config.backend`` ``jax``, any number of paths, by :func:`ceasefire.model.jax.engine.simulate_blocks`."""
    st = structure_of(scenario)
    if config.backend == "jax":  # an optional extra: imported only when asked for
        from ceasefire.model.jax import engine as jax_engine

        return jax_engine.simulate_blocks(st, values, seeds, paths, config, levers, offset)
    params = params_of(st, per_path(values, paths))
    return simulate_chunk(st, params, seeds, paths, config, levers, sample_offset=offset)


def _simulate_blocks(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    levers: Mapping[str, float],
    blocks: list[int],
    rules: LeaderRules | None,
) -> Outcomes:
    """A unit of work: one block of ``paths`` paths of each of the given samples (a sample may appear
    once per block), with the samples' rules already fitted."""
    st = structure_of(scenario)
    params = params_of(st, per_path(values, paths))
    return simulate_chunk(st, params, seeds, paths, config, levers, block=blocks, rules=rules)


def _fit_rules(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    config: RunConfig,
    levers: Mapping[str, float],
) -> LeaderRules | None:
    """A unit of work: the leaders' rules of some samples, fitted on :data:`PATH_BLOCK` imagined paths."""
    st = structure_of(scenario)
    return fit_rules(st, params_of(st, per_path(values, PATH_BLOCK)), seeds, PATH_BLOCK, config, levers)


def _fit(
    scenario: Scenario,
    values: Values,
    seeds: list[np.random.SeedSequence],
    config: RunConfig,
    levers: Mapping[str, float],
    executor: Executor,
) -> LeaderRules | None:
    """The leaders' rules of every sample: each sample's are fitted on its own imagined paths, so
    groups of samples are fitted apart, by ``executor``, and joined."""
    n_samples, cores = len(seeds), executor.workers or 1
    if cores == 1 or n_samples == 1 or config.policy != "optimal" or not config.allow_settlement:
        return _fit_rules(scenario, values, seeds, config, levers)
    size = split(n_samples, min(cores, n_samples))
    bounds = [(lo, min(lo + size, n_samples)) for lo in range(0, n_samples, size)]
    tasks = ((scenario, _slice(values, lo, hi), seeds[lo:hi], config, levers) for lo, hi in bounds)
    found = dict(executor.map_unordered(_fit_rules, tasks))
    return join_rules([found[k] for k in range(len(bounds))])  # type: ignore[misc]  # optimal: none is None


def _empty_like(template: Outcomes, n: int, ranged: NDArray[np.bool_]) -> Outcomes:
    """Outcomes of ``n`` paths shaped like ``template``'s, to be filled by :func:`_scatter`; the paths
    ``ranged`` have a column in ``monthly``."""

    def empty(name: str, arrays: list[NDArray[Any]]) -> NDArray[Any]:
        v = arrays[0]
        if name in _PER_MONTH:
            return np.empty((v.shape[0], int(ranged.sum()) if name == "monthly" else n, *v.shape[2:]), dtype=v.dtype)
        return np.empty((n, *v.shape[1:]), dtype=v.dtype)

    return replace(_by_array([template], empty), monthly_paths=ranged)


def _scatter(out: Outcomes, part: Outcomes, rows: NDArray[np.int64], column: NDArray[np.int64]) -> None:
    """Write ``part``'s paths into ``out`` at ``rows``; ``column`` is each ranged path's column in
    ``out.monthly`` (see :func:`ceasefire.model.engine.monthly_paths`)."""
    columns = column[rows[part.monthly_paths]]
    for name in out.__dataclass_fields__:
        target, value = getattr(out, name), getattr(part, name)
        if name == "monthly_paths":
            continue  # laid out by _empty_like
        if isinstance(target, dict):
            for k, v in value.items():
                if name == "monthly":
                    target[k][:, columns] = v
                elif name in _PER_MONTH:
                    target[k][:, rows] = v
                else:
                    target[k][rows] = v
        else:
            target[rows] = value


def _simulate_rows(
    scenario: Scenario,
    spec: RunSpec,
    config: RunConfig,
    chunk: Values,
    candidates: NDArray[np.int64],
    seeds: Seeds,
    levers: Mapping[str, float],
    offset: int,
    *,
    executor: Executor | None = None,
) -> Outcomes:
    """A unit of work: simulate the samples ``chunk`` (per-sample values), whose candidate numbers
    (seeds) are ``candidates``, in this process or, given an entered ``executor``, by its workers, and
    check the outcomes."""
    chunk_seeds = [seeds.path_seed(int(c)) for c in candidates]
    here = executor or InlineExecutor()
    out = simulate_samples(scenario, chunk, chunk_seeds, spec.paths, config, levers, offset, executor=here)
    return check_chunk(out, scenario, chunk, chunk_seeds, spec.paths, config, levers, offset, candidates)


@dataclass(frozen=True)
class _Plan:
    """How a run's samples are shared out: chunks of ``size`` samples go to the ``executor``'s workers
    (``outer``), or each chunk in turn has its rules and path blocks computed by them."""

    size: int
    executor: Executor
    outer: bool = True

    @property
    def chunk_workers(self) -> int:
        """Chunks computed at once."""
        return (self.executor.workers or 1) if self.outer else 1

    def chunks(self, tasks: Iterator[tuple[Any, ...]]) -> Generator[tuple[int, Outcomes], None, None]:
        """``(k, outcomes)`` of each chunk's task (the arguments of :func:`_simulate_rows`), as they finish."""
        if self.outer:
            return self.executor.map_unordered(_simulate_rows, tasks)
        return ((k, _simulate_rows(*task, executor=self.executor)) for k, task in enumerate(tasks))


def _plan(spec: RunSpec, size: int, fixed_size: bool, workers: int | None) -> _Plan:
    """Chunks of samples on separate cores when there are enough of them; else (few samples of many
    paths) one chunk at a time, its rules and path blocks on all the cores."""
    if spec.backend == "jax":  # JAX uses the cores (or the GPU) by itself
        return _Plan(size, InlineExecutor())
    n, config = spec.samples, spec.config()
    chunks, work = math.ceil(n / size), path_steps(n, spec.paths, config)
    if spec.paths > PATH_BLOCK:
        ex = executor_for(workers, work=work, units=n * len(path_blocks(spec.paths)))
        return _Plan(size, ex, outer=chunks >= 2 * (ex.workers or 1))
    if fixed_size:
        return _Plan(size, executor_for(workers, work=work, units=chunks))
    least = samples_per_unit(spec.paths)
    ex = executor_for(workers, work=work, units=n, useful=n // least)
    cores = ex.workers or 1
    return _Plan(size if cores == 1 else split(n, cores, size, least), ex)


def _simulate_chunks(
    scenario: Scenario,
    spec: RunSpec,
    values: Values,
    candidates: NDArray[np.int64],
    seeds: Seeds,
    plan: _Plan,
    progress: Callable[[int, int], None] | None,
) -> Outcomes:
    config = spec.config()
    total = len(candidates)
    bounds = [(lo, min(lo + plan.size, total)) for lo in range(0, total, plan.size)]
    tasks = (
        (scenario, spec, config, _slice(values, lo, hi), candidates[lo:hi], seeds, spec.levers, lo) for lo, hi in bounds
    )
    parts: dict[int, Outcomes] = {}
    done = 0
    for k, out in plan.chunks(tasks):
        parts[k] = out
        done += bounds[k][1] - bounds[k][0]
        if progress is not None:
            progress(done, total)
    return concatenate([parts[k] for k in range(len(bounds))])


def _screen(
    scenario: Scenario,
    spec: RunSpec,
    seeds: Seeds,
    plan: _Plan,
    progress: Callable[[int, int], None] | None,
) -> tuple[Values, NDArray[np.int64], Outcomes]:
    """Simulate candidate samples in order and keep the first ``spec.samples`` with no deal in month 0.

    The month-0 decision is the same on every path of a sample (the state is, and so are the
    leaders' values), and a sample's simulation depends on its own seed alone: the kept set
    and its outcomes do not depend on the chunk size. On several cores the candidates are
    simulated in rounds of chunks, a round as many as are still needed (at the share kept so
    far), and read in order.
    """
    config = spec.observed_world().config()
    n = spec.samples
    kept_values: list[Values] = []
    kept_ids: list[NDArray[np.int64]] = []
    kept_outcomes: list[Outcomes] = []
    found = tried = 0
    batch, lo = 0, 0
    values = candidate_parameters(scenario, n, seeds, batch)
    while found < n:
        if lo >= n:
            batch, lo = batch + 1, 0
            if batch >= MAX_DRAWS:
                break
            values = candidate_parameters(scenario, n, seeds, batch)
        want = n - found
        if plan.chunk_workers == 1:
            # a little more than is still needed, so that the last chunk wastes little
            bounds = [(lo, min(lo + min(plan.size, want + max(2, want // 8)), n))]
        else:
            share = found / tried if found else 1.0
            end = min(lo + math.ceil(want / share) + max(1, want // 64), n)
            step = split(end - lo, plan.chunk_workers, plan.size, samples_per_unit(spec.paths))
            bounds = [(a, min(a + step, end)) for a in range(lo, end, step)]
        tasks: Iterator[tuple[Any, ...]] = (
            (scenario, spec, config, _slice(values, a, b), batch * n + np.arange(a, b), seeds, {}, 0) for a, b in bounds
        )
        arrived: dict[int, Outcomes] = {}
        ahead = 0
        with closing(plan.chunks(tasks)) as results:
            for k, out in results:
                arrived[k] = out
                while ahead in arrived and found < n:  # in order: the first candidates kept are the same
                    a, b = bounds[ahead]
                    out = arrived.pop(ahead)
                    ids = batch * n + np.arange(a, b)
                    at_zero = np.bincount(out.sample, weights=(out.first_settlement == 0), minlength=b - a) > 0
                    keep = np.flatnonzero(~at_zero)[: n - found]
                    if keep.size:
                        kept_values.append(_take(_slice(values, a, b), keep))
                        kept_ids.append(ids[keep])
                        kept_outcomes.append(select_samples(out, keep, offset=found))
                    found += keep.size
                    tried += b - a
                    ahead += 1
                    if progress is not None:
                        progress(found, n)
                if found >= n:
                    break
        lo = bounds[-1][1]
    if found >= n:
        joined = {k: np.concatenate([v[k] for v in kept_values]) for k in kept_values[0]}
        return joined, np.concatenate(kept_ids), concatenate(kept_outcomes)
    raise ValueError(
        f"only {found} of {MAX_DRAWS * n} parameter samples are consistent with no deal at "
        f"the start ([scenario] no_deal_at_start); the scenario's ranges make a deal in month 0 almost certain"
    )


def run(
    scenario: Scenario,
    spec: RunSpec,
    chunk_samples: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    samples_of: RunResult | None = None,
    workers: int | None = None,
) -> RunResult:
    """Simulate ``spec.samples`` outer samples of ``spec.paths`` paths each.

    With ``[scenario] no_deal_at_start`` the samples are those consistent with the observed
    start, found in the world without levers and with the scenario's beliefs; a run with levers
    or other beliefs then simulates the same samples with the same seeds (common random numbers).
    ``samples_of``, an earlier run of the same scenario, seed and sizes, gives those samples
    without searching for them again.

    ``workers`` (default ``spec.workers``; ``None``: automatic) is the number of cores the run is
    computed on (:func:`ceasefire.run.executor.executor_for`); ``progress(done, total)`` is called, in this
    thread, as chunks finish. The numbers do not depend on ``workers`` nor on ``chunk_samples``.
    """
    spec.validate(scenario)
    asked = workers if workers is not None else spec.workers
    check_workers(asked)
    start = time.perf_counter()
    seeds = Seeds.from_seed(spec.seed)
    size = chunk_samples or chunk_size_for(spec.paths, spec.horizon, spec.policy)
    if samples_of is not None:
        same = ("seed", "samples", "paths", "horizon")
        if samples_of.scenario != scenario or any(getattr(samples_of.spec, k) != getattr(spec, k) for k in same):
            raise ValueError("samples_of must be a run of the same scenario, seed, samples, paths and horizon")
    plan = _plan(spec, size, chunk_samples is not None, asked)
    with plan.executor:  # one executor for the whole run: its processes serve every stage
        if samples_of is not None:
            values, candidates = samples_of.parameters, samples_of.candidates
            outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, plan, progress)
        elif scenario.scenario.no_deal_at_start and spec.allow_settlement:
            values, candidates, outcomes = _screen(scenario, spec, seeds, plan, progress)
            if spec != spec.observed_world():
                outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, plan, progress)
        else:
            values = candidate_parameters(scenario, spec.samples, seeds, 0)
            candidates = np.arange(spec.samples, dtype=np.int64)
            outcomes = _simulate_chunks(scenario, spec, values, candidates, seeds, plan, progress)
    return RunResult(
        scenario=scenario,
        spec=spec,
        parameters=values,
        samples_drawn=int(candidates[-1]) + 1,
        candidates=candidates,
        outcomes=outcomes,
        terms=structure_of(scenario).terms,
        seconds=time.perf_counter() - start,
    )


_PER_MONTH = ("trajectories", "monthly")


def _by_array(parts: list[Outcomes], fn: Callable[[str, list[NDArray[Any]]], NDArray[Any]]) -> Outcomes:
    """Outcomes made array by array: ``fn(field name, that array of each of the parts)``."""
    fields: dict[str, object] = {}
    for name in parts[0].__dataclass_fields__:
        values = [getattr(p, name) for p in parts]
        if isinstance(values[0], dict):
            fields[name] = {k: fn(name, [v[k] for v in values]) for k in values[0]}
        else:
            fields[name] = fn(name, values)
    return Outcomes(**fields)  # type: ignore[arg-type]


def select_samples(outcomes: Outcomes, keep: NDArray[np.int64], offset: int = 0) -> Outcomes:
    """The outcomes of the samples ``keep`` (chunk-local indices), renumbered from ``offset``."""
    rows = np.isin(outcomes.sample, keep)
    columns = rows[outcomes.monthly_paths]  # the kept paths' columns in ``monthly``
    renumber = np.full(int(outcomes.sample.max()) + 1, -1, dtype=np.int64)
    renumber[keep] = np.arange(keep.size) + offset

    def select(name: str, arrays: list[NDArray[Any]]) -> NDArray[Any]:
        v = arrays[0]
        if name == "sample":
            return renumber[v[rows]]  # type: ignore[no-any-return]
        if name in _PER_MONTH:
            return v[:, columns if name == "monthly" else rows]
        return v[rows]

    return _by_array([outcomes], select)


def concatenate(parts: list[Outcomes]) -> Outcomes:
    """Join the outcomes of consecutive chunks."""
    if len(parts) == 1:
        return parts[0]
    return _by_array(parts, lambda name, arrays: np.concatenate(arrays, axis=1 if name in _PER_MONTH else 0))
