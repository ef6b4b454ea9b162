"""What would change it: the effect of each outside lever, and two-lever grids (docs/levers.md).

Every lever package is simulated on the *same* outer parameter samples, seeds and paths as a run
without levers (common random numbers; the baseline run picks the samples, screened for no deal at
the start where the scenario says so). A package's effect is the difference of two estimates on the
same samples, so most of the Monte Carlo noise cancels; its standard error comes from the paired
per-sample differences, clustered by outer sample. Many packages are simulated in one vectorized
call, as blocks of extra samples with the lever intensities given per path
(:func:`ceasefire.model.levers.apply`): a package's numbers are bit for bit those of
``run(scenario, spec_with_levers, samples_of=baseline)``.

Credibility. A lever is carried out and sustained on a path with probability ``credibility``
(sampled like any parameter), drawn once per path at month 0, in the true and the leaders'
imagined wars alike: a leader knows the lever's credibility, and learns whether it is carried out
only through its consequences for the war. The same packages with credibility 1 (certain, in the
true and the imagined wars) show what the lack of credibility costs.

The quantities compared (``within`` months counts a first settlement in months ``0 .. m-1``,
as in :mod:`ceasefire.run.summary`):

``p12``, ``p24``
    probability of a first settlement within 12 and 24 months;
``casualties_A``, ``casualties_B``
    mean casualties over the whole horizon (persons), fighting after a breakdown included;
``holds``
    probability that a first ceasefire holds 24 months: the Kaplan-Meier estimate from the
    package's simulated first ceasefires (censored at the horizon), as in the run summary; its
    standard error is linearised like the ratios', clustered by outer sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire import __version__
from ceasefire.analysis.frames import Tabular, spec_fields
from ceasefire.model.engine import PATH_BLOCK, Outcomes, RunConfig
from ceasefire.run.executor import executor_for
from ceasefire.run.experiment import (
    RunResult,
    RunSpec,
    chunk_size_for,
    concatenate,
    path_steps,
    run,
    samples_per_unit,
    select_samples,
    simulate_values,
)
from ceasefire.run.sampling import Seeds, check_levers
from ceasefire.run.summary import survival_counts, survival_from_counts
from ceasefire.scenario.params import AnyParam
from ceasefire.scenario.schema import SIDES, Lever, Scenario

__all__ = [
    "DEFAULT_INTENSITIES",
    "Baselines",
    "EffectRow",
    "Estimate",
    "LeverEffects",
    "LeverGrid",
    "Setting",
    "Tally",
    "baseline_run",
    "batch_seed",
    "contrast",
    "difference",
    "expected",
    "joined",
    "level",
    "lever_effects",
    "lever_effects_within",
    "lever_grid",
    "simulate_settings",
    "study_sizes",
]

Array = NDArray[np.float64]
Progress = Callable[[int, int], None]

DEFAULT_INTENSITIES = (0.25, 0.5, 1.0)
DEFAULT_SAMPLES, DEFAULT_PATHS = 100, 100
"""Default sizes: smaller than a plain run's, since an analysis simulates tens of packages."""
HOLDS_MONTHS = 24
Z95 = 1.959963984540054
"""The standard normal's 97.5% quantile: a 95% interval is the estimate ± ``Z95`` standard errors."""
METRICS = ("p12", "p24", "casualties_A", "casualties_B", "holds")
SPEC_FIELDS = ("samples", "paths", "seed", "horizon", "policy")
"""The baseline's settings a lever result states."""


# -- the packages simulated -------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One lever package: an intensity per lever (absent = 0), and whether its levers are certain
    (credibility 1 in the true and the imagined wars) or as credible as the scenario says."""

    intensities: Mapping[str, float] = field(default_factory=dict)
    certain: bool = False


@dataclass(frozen=True)
class Tally:
    """Per-sample sums of one package's outcomes: the clusters of the standard errors.

    Arrays have one row per outer sample; ``settled_by[:, m]`` counts the sample's paths whose
    first settlement came before month ``m`` (``m = 0 .. horizon``); ``at_risk[:, t]`` and
    ``ended[:, t]`` are the Kaplan-Meier counts of its first ceasefires
    (:func:`ceasefire.run.summary.survival_counts`): those that lasted at least ``t`` months, and
    those that broke after exactly ``t`` (``t = 0 .. HOLDS_MONTHS``).
    """

    paths: int
    settled_by: Array  # (samples, horizon + 1)
    casualties: dict[str, Array]  # (samples,) sums over paths, persons
    ceasefires: Array  # (samples,) paths with a first settlement
    at_risk: Array  # (samples, HOLDS_MONTHS + 1)
    ended: Array  # (samples, HOLDS_MONTHS + 1)

    @property
    def samples(self) -> int:
        return int(self.ceasefires.size)

    def metric(self, name: str) -> tuple[Array, Array]:
        """``(numerator, denominator)`` per sample of a ratio estimate: see the module docstring
        (``holds`` is no ratio: see :meth:`linear`)."""
        n = np.full(self.samples, float(self.paths))
        if name.startswith("p") and name[1:].isdigit():
            m = int(name[1:])
            if m >= self.settled_by.shape[1]:
                return np.full(self.samples, np.nan), n
            return self.settled_by[:, m], n
        if name.startswith("casualties_"):
            return self.casualties[name.removeprefix("casualties_")], n
        raise ValueError(f"unknown quantity '{name}' (known: {', '.join(METRICS)}, or pM for M months)")

    def linear(self, name: str) -> tuple[float, Array]:
        """The estimate of quantity ``name`` and its linearised influence per sample (scaled as in
        :func:`_ratio_influence`: the standard error is ``sd(z) / sqrt(S)``); NaN when it is not estimable."""
        if name != "holds":
            return _ratio_influence(*self.metric(name))
        return _survival_influence(self.at_risk, self.ended)

    @classmethod
    def of(
        cls,
        sample: NDArray[np.int64],
        first: NDArray[np.int64],
        casualties: Mapping[str, Array],
        ceasefire_months: NDArray[np.int64],
        ceasefire_broke: NDArray[np.bool_],
        samples: int,
        paths: int,
        horizon: int,
    ) -> Tally:
        """Tally per-path outcomes (``sample`` numbered ``0 .. samples-1``)."""
        settled = first >= 0
        hist = np.zeros((samples, horizon + 1))
        np.add.at(hist, (sample[settled], first[settled] + 1), 1.0)
        at_risk, ended = survival_counts(
            ceasefire_months[settled], ceasefire_broke[settled], HOLDS_MONTHS, sample[settled], samples
        )
        return cls(
            paths=paths,
            settled_by=np.cumsum(hist, axis=1),
            casualties={s: _per_sample(sample, casualties[s], samples) for s in SIDES},
            ceasefires=_per_sample(sample, settled.astype(float), samples),
            at_risk=at_risk,
            ended=ended,
        )

    @classmethod
    def of_outcomes(cls, o: Outcomes, samples: int, paths: int, horizon: int) -> Tally:
        """Tally an engine's per-path outcomes (:func:`of`)."""
        fields = (o.sample, o.first_settlement, o.casualties_total, o.ceasefire_months, o.ceasefire_broke)
        return cls.of(*fields, samples, paths, horizon)

    @classmethod
    def of_run(cls, result: RunResult) -> Tally:
        return cls.of_outcomes(result.outcomes, result.spec.samples, result.spec.paths, result.spec.horizon)


def _per_sample(sample: NDArray[np.int64], x: Array, samples: int) -> Array:
    return np.bincount(sample, weights=x, minlength=samples).astype(float)


def baseline_run(
    scenario: Scenario,
    samples: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """The run without levers whose samples and seeds every package reuses."""
    spec = RunSpec.from_scenario(
        scenario,
        samples=DEFAULT_SAMPLES if samples is None else samples,
        paths=DEFAULT_PATHS if paths is None else paths,
        seed=seed,
        horizon=horizon,
        policy=policy,
    )
    return run(scenario, spec, progress=progress)


def simulate_settings(
    baseline: RunResult, settings: Sequence[Setting], progress: Progress | None = None, workers: int | None = None
) -> list[Tally]:
    """Simulate each package on the baseline's samples and seeds (common random numbers).

    All packages go through the engine together, as ``len(settings) x samples`` samples in
    chunks; package ``k``'s sample ``j`` reuses the baseline sample ``j``'s parameters and seed.
    The chunks are shared among ``workers`` cores (``None``: automatic, as for a run, see
    :func:`ceasefire.run.executor.resolve_workers`); a sample's numbers do not depend on its chunk,
    so neither do the tallies.
    """
    sc, spec = baseline.scenario, baseline.spec
    if spec.levers:
        raise ValueError("the baseline must be a run without levers")
    if spec.paths > PATH_BLOCK:
        raise ValueError(f"lever analyses simulate at most {PATH_BLOCK} paths per sample, got {spec.paths}")
    lever_ids = [lv.id for lv in sc.levers]
    for s in settings:
        check_levers(sc, s.intensities)
    k_count, n_samples, paths = len(settings), spec.samples, spec.paths
    if k_count == 0:
        return []
    x = np.array([[float(s.intensities.get(lv, 0.0)) for lv in lever_ids] for s in settings]).reshape(k_count, -1)
    certain = np.array([s.certain for s in settings])
    config = replace(spec, bargaining_range=False, record=False).config()
    seeds = Seeds.from_seed(spec.seed)
    total = k_count * n_samples
    least = max(1, samples_per_unit(paths) // UNIT_SHARE)
    executor = executor_for(workers, work=path_steps(total, paths, config), units=total, useful=total // least)
    cores = executor.workers or 1
    size = chunk_size_for(paths, spec.horizon, spec.policy)
    if cores > 1:  # one unit per core: the units are alike, and each call has a fixed cost
        size = min(size, -(-total // cores))

    def tasks() -> Iterator[tuple[Any, ...]]:
        for lo in range(0, total, size):
            rows = np.arange(lo, min(lo + size, total))
            pkg, j = rows // n_samples, rows % n_samples
            values = {name: v[j] for name, v in baseline.parameters.items()}
            for lv in lever_ids:
                cred = f"levers.{lv}.credibility"
                values[cred] = np.where(certain[pkg], 1.0, values[cred])
            intensity = {lv: np.repeat(x[pkg, i], paths) for i, lv in enumerate(lever_ids) if x[pkg, i].any()}
            chunk_seeds = [seeds.path_seed(int(c)) for c in baseline.candidates[j]]
            yield sc, values, chunk_seeds, paths, config, intensity

    parts: dict[int, Tally] = {}
    done = 0
    with executor as ex:
        for i, tally in ex.map_unordered(_tally_chunk, tasks()):
            parts[i] = tally
            done += tally.samples
            if progress is not None:
                progress(done, total)
    joined = _join([parts[i] for i in range(len(parts))])
    return [_rows(joined, k * n_samples, (k + 1) * n_samples) for k in range(k_count)]


UNIT_SHARE = 4
"""The packages' work is shared out when each core gets at least ``1 / UNIT_SHARE`` of the paths
of a run's unit (:func:`ceasefire.run.experiment.samples_per_unit`): the lever analyses' runs are
small, and would otherwise use one core (a generation of the price search, 336 samples of 12
paths: 1.63 s on one core, 0.98 s on two in halves, 1.28 s in units of 85 samples)."""


def _tally_chunk(
    sc: Scenario,
    values: Mapping[str, Array],
    seeds: list[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    intensity: Mapping[str, Array],
) -> Tally:
    """A unit of work: the per-sample tallies of one chunk of (package, sample) pairs."""
    out = simulate_values(sc, dict(values), seeds, paths, config, intensity)  # intensities may be per path
    return Tally.of_outcomes(out, len(seeds), paths, config.horizon)


def _join(parts: list[Tally]) -> Tally:
    return _per_array(parts, np.concatenate)


def _rows(t: Tally, lo: int, hi: int) -> Tally:
    return _per_array([t], lambda arrays: arrays[0][lo:hi])


def _per_array(parts: list[Tally], f: Callable[[list[Array]], Array]) -> Tally:
    """A tally whose every per-sample array is ``f`` of the parts' (``paths`` is the first part's)."""
    arrays = {name: f([getattr(t, name) for t in parts]) for name in ("settled_by", "ceasefires", "at_risk", "ended")}
    casualties = {s: f([t.casualties[s] for t in parts]) for s in SIDES}
    return Tally(paths=parts[0].paths, casualties=casualties, **arrays)


def joined(runs: Sequence[RunResult]) -> RunResult:
    """Batches' runs as one run for estimates over all their samples, numbered batch after batch.

    Only the outcomes, parameters and sizes are joined: the batches' seeds differ, so the result
    cannot be simulated again (its ``spec.seed`` and ``candidates`` are the first batch's way of
    naming samples, not a recipe).
    """
    if len(runs) == 1:
        return runs[0]
    parts, offset = [], 0
    for r in runs:
        parts.append(select_samples(r.outcomes, np.arange(r.spec.samples), offset=offset))
        offset += r.spec.samples
    first = runs[0]
    return RunResult(
        scenario=first.scenario,
        spec=replace(first.spec, samples=offset),
        parameters={k: np.concatenate([r.parameters[k] for r in runs]) for k in first.parameters},
        samples_drawn=sum(r.samples_drawn for r in runs),
        candidates=np.concatenate([r.candidates for r in runs]),
        outcomes=concatenate(parts),
        terms=first.terms,
        seconds=sum(r.seconds for r in runs),
    )


def batch_seed(seed: int, batch: int) -> int:
    """The root seed of batch ``batch`` of a study's samples: ``seed`` itself for batch 0, then seeds
    derived from it (``SeedSequence([seed, batch])``), so batches never share samples or paths."""
    if batch == 0:
        return seed
    return int(np.random.SeedSequence([seed, BATCH_STREAM, batch]).generate_state(1, dtype=np.uint64)[0] >> 1)


BATCH_STREAM = 0x1E7E5
"""Stream key of the batch seeds (:func:`batch_seed`)."""


def _setting_key(s: Setting) -> tuple[tuple[tuple[str, float], ...], bool]:
    return tuple(sorted((k, float(v)) for k, v in s.intensities.items() if v)), s.certain


@dataclass(frozen=True)
class Baselines:
    """Runs without levers, each a batch of outer samples with its own seed, on which lever packages
    are simulated with common random numbers (each batch's packages reuse its samples and seeds).

    The batches' samples are independent draws of the same distributions, so their tallies are
    joined sample by sample: an estimate over the batches is one over all their samples, its
    standard error clustered by sample as for one run. A package simulated once on a batch is
    remembered, so adding a batch simulates only the new one.
    """

    runs: tuple[RunResult, ...]
    _done: dict[tuple[int, Any], Tally] = field(default_factory=dict, compare=False, repr=False)
    _runs: dict[tuple[int, Any], RunResult] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise ValueError("at least one baseline run is needed")
        first, same = self.runs[0], ("paths", "horizon", "policy")
        for r in self.runs:
            if r.spec.levers:
                raise ValueError("the baseline must be a run without levers")
            if r.scenario != first.scenario or spec_fields(r.spec, *same) != spec_fields(first.spec, *same):
                raise ValueError(
                    "baseline batches must be runs of one scenario with the same paths, horizon and policy"
                )

    @property
    def spec(self) -> RunSpec:
        """The first batch's spec with ``samples`` the batches' total."""
        return replace(self.runs[0].spec, samples=self.samples)

    @property
    def scenario(self) -> Scenario:
        return self.runs[0].scenario

    @property
    def samples(self) -> int:
        return sum(r.spec.samples for r in self.runs)

    def with_run(self, run_: RunResult) -> Baselines:
        """These batches and one more (the packages already simulated are kept)."""
        return Baselines((*self.runs, run_), self._done, self._runs)

    def tally(self) -> Tally:
        """Outcomes without levers, all batches."""
        return _join([Tally.of_run(r) for r in self.runs])

    def parameter(self, name: str) -> Array:
        """A parameter's values, per sample, all batches."""
        return np.concatenate([np.asarray(r.parameters[name], dtype=float) for r in self.runs])

    def runs_with(
        self,
        levers: Mapping[str, float],
        progress: Progress | None = None,
        credibility: Mapping[str, float] | None = None,
    ) -> list[RunResult]:
        """Each batch run again with ``levers`` (``run(..., samples_of=batch)``: the same samples and
        seeds), for the per-path outcomes; remembered, and their tallies stand for the package's.

        ``credibility`` (by lever id) fixes those levers' credibility in every sample's parameters
        instead of the scenario's draw (a claim's ``with credibility C``); such runs are remembered
        apart, and their tallies do not stand for the package's.
        """
        fixed = tuple(sorted((k, float(v)) for k, v in (credibility or {}).items()))
        package = _setting_key(Setting(levers))
        key: Any = (package, fixed) if fixed else package
        total = sum(r.spec.samples for i, r in enumerate(self.runs) if (i, key) not in self._runs)
        done = 0
        for i, r in enumerate(self.runs):
            if (i, key) not in self._runs:
                fixed_values = {f"levers.{lv}.credibility": np.full(r.spec.samples, x) for lv, x in fixed}
                earlier = replace(r, parameters=dict(r.parameters) | fixed_values)
                self._runs[(i, key)] = run(self.scenario, replace(r.spec, levers=dict(package[0])),
                                           progress=_offset(progress, done, total), samples_of=earlier)  # fmt: skip
                if not fixed:
                    self._done.setdefault((i, key), Tally.of_run(self._runs[(i, key)]))
                done += r.spec.samples
        return [self._runs[(i, key)] for i in range(len(self.runs))]

    def simulate(self, settings: Sequence[Setting], progress: Progress | None = None) -> list[Tally]:
        """Each package's tally over all batches; only (batch, package) pairs not simulated before run."""
        keys = [_setting_key(s) for s in settings]
        distinct = dict(zip(keys, settings, strict=True))
        todo = [[s for k, s in distinct.items() if (i, k) not in self._done] for i in range(len(self.runs))]
        total = sum(r.spec.samples * len(new) for r, new in zip(self.runs, todo, strict=True))
        done = 0
        for i, (r, new) in enumerate(zip(self.runs, todo, strict=True)):
            if not new:
                continue
            for s, t in zip(new, simulate_settings(r, new, _offset(progress, done, total)), strict=True):
                self._done[(i, _setting_key(s))] = t
            done += r.spec.samples * len(new)
        return [_join([self._done[(i, k)] for i in range(len(self.runs))]) for k in keys]


def _offset(progress: Progress | None, before: int, total: int) -> Progress:
    """A part's ``(done, _)`` reported as ``(before + done, total)`` of the whole."""
    return lambda done, _total: None if progress is None else progress(before + done, total)


def staged(progress: Callable[[str, int, int], None] | None, name: str) -> Progress | None:
    """``progress(stage, done, total)`` as a ``(done, total)`` callback for stage ``name``."""
    return None if progress is None else (lambda done, total: progress(name, done, total))


# -- estimates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate and its standard error."""

    value: float
    se: float


def _ratio_influence(y: Array, n: Array) -> tuple[float, Array]:
    """A pooled ratio ``R = sum(y) / sum(n)`` over clusters and its influences ``(y_s - R n_s) / mean(n)``
    (delta method: for a probability with ``n_s`` the paths of sample ``s``, ``se`` is the usual
    ``sd(p_s) / sqrt(S)``)."""
    if n.sum() <= 0 or not np.isfinite(y).all():
        return math.nan, np.full(y.shape, math.nan)
    r = float(y.sum() / n.sum())
    return r, (y - r * n) / n.mean()


def _survival_influence(at_risk: Array, ended: Array) -> tuple[float, Array]:
    """The pooled Kaplan-Meier survival ``S = prod_t (1 - D_t / N_t)`` over the samples' counts
    (:func:`ceasefire.run.summary.survival_from_counts`) and its influences, scaled as a ratio's:
    ``z_s = -S S_count sum_t (d_ts - h_t n_ts) / (N_t - D_t)`` with ``h_t = D_t / N_t`` (the delta
    method on ``log S``, the clustered form of Greenwood's variance)."""
    big_n, big_d = at_risk.sum(axis=0), ended.sum(axis=0)
    s = float(survival_from_counts(big_n, big_d))
    if not math.isfinite(s):
        return math.nan, np.full(at_risk.shape[0], math.nan)
    if s == 0.0:
        return 0.0, np.zeros(at_risk.shape[0])
    live = big_n > 0  # where some are still at risk, none of which all broke (else s == 0)
    h = np.where(live, big_d / np.maximum(big_n, 1.0), 0.0)
    terms = np.where(live, (ended - h * at_risk) / np.where(live, big_n - big_d, 1.0), 0.0)
    return s, -s * at_risk.shape[0] * terms.sum(axis=1)


def _combine(parts: Sequence[tuple[float, float, Array]]) -> Estimate:
    """``sum_k w_k Q_k`` from each estimate's ``(w_k, Q_k, influences z_k)`` on the same clusters."""
    if any(not math.isfinite(q) for _, q, _ in parts):
        return Estimate(math.nan, math.nan)
    value, z = 0.0, np.zeros_like(parts[0][2], dtype=float)
    for w, q, zk in parts:
        value += w * q
        z = z + w * zk
    return Estimate(value, float(z.std(ddof=1) / math.sqrt(z.size)) if z.size > 1 else math.nan)


def difference(t1: Tally, t0: Tally, name: str) -> Estimate:
    """Change in quantity ``name`` from ``t0`` to ``t1`` (same samples and seeds)."""
    return contrast([(1.0, t1), (-1.0, t0)], name)


def contrast(terms: Sequence[tuple[float, Tally]], name: str) -> Estimate:
    """``sum_k w_k Q_k`` of quantity ``name`` over packages on the same samples and seeds, its standard
    error from the sum of the paired influences, clustered by sample (for ``R1 - R0``:
    ``z_s = (y1_s - R1 n1_s) / mean(n1) - (y0_s - R0 n0_s) / mean(n0)``)."""
    return _combine([(w, *t.linear(name)) for w, t in terms])


def level(t: Tally, name: str) -> Estimate:
    return _combine([(1.0, *t.linear(name))])


def expected(p: AnyParam) -> float:
    """Mean of a parameter's distribution (the integral of its quantile function, by midpoints)."""
    if p.is_fixed:
        return p.nominal()
    u = (np.arange(4096) + 0.5) / 4096
    return float(p.ppf(u).mean())


# -- one lever at a time ----------------------------------------------------------------------
@dataclass(frozen=True)
class EffectRow:
    """The change one lever at one intensity makes, against no lever, on the same samples and paths.

    ``d_*`` at the scenario's credibility; ``d_*_certain`` if the lever were certain (``None``
    when not computed). Casualties in persons over the horizon; probabilities as shares.
    """

    lever: str
    name: str
    intensity: float
    credibility: float  # mean over the distribution
    cost: float  # expected cost: E[cost_per_unit] x intensity
    cost_p05: float
    cost_p95: float
    cost_unit: str
    d_p12: float
    d_p12_se: float
    d_p24: float
    d_p24_se: float
    d_casualties_A: float
    d_casualties_A_se: float
    d_casualties_B: float
    d_casualties_B_se: float
    d_holds: float
    d_holds_se: float
    d_p12_certain: float | None = None
    d_p12_certain_se: float | None = None
    d_p24_certain: float | None = None
    d_p24_certain_se: float | None = None
    d_casualties_A_certain: float | None = None
    d_casualties_A_certain_se: float | None = None
    d_casualties_B_certain: float | None = None
    d_casualties_B_certain_se: float | None = None
    d_holds_certain: float | None = None
    d_holds_certain_se: float | None = None


@dataclass(frozen=True)
class LeverEffects(Tabular):
    """Each lever's effect at several intensities (see :func:`lever_effects`)."""

    scenario: str
    samples: int
    paths: int
    seed: int
    horizon: int
    policy: str
    intensities: tuple[float, ...]
    baseline: dict[str, Estimate]  # levels without levers: p12, p24, casualties_A/B, holds
    rows: tuple[EffectRow, ...]
    skipped: tuple[str, ...]  # "lever@intensity" above the lever's intensity_max
    seconds: float
    version: str = __version__
    batches: int = 1  # batches of samples, each with its own seed (see Baselines); ``seed`` is the first's
    half_width: float | None = None  # the 95% half-width the samples were added for (lever_effects_within)
    reached: float | None = None  # the widest 95% half-width when it stopped, extra packages included

    def widest(self, quantities: Sequence[str] = ("p12", "p24")) -> float:
        """The largest 95% half-width of the changes in ``quantities`` over the rows (NaN if none)."""
        widths = [Z95 * float(getattr(r, f"d_{q}_se")) for r in self.rows for q in quantities]
        return max((w for w in widths if math.isfinite(w)), default=math.nan)


def lever_effects(
    scenario: Scenario | str | Path,
    intensities: Sequence[float] = DEFAULT_INTENSITIES,
    samples: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    levers: Sequence[str] | None = None,
    certain: bool = True,
    baseline: RunResult | Baselines | None = None,
    progress: Progress | None = None,
) -> LeverEffects:
    """The change each lever makes at each intensity, with the standard error of the change.

    Parameters
    ----------
    scenario
        A scenario, or a shipped scenario's name or a path.
    intensities
        Lever intensities (the unit of ``--lever NAME=x``); those above a lever's
        ``intensity_max`` are skipped for that lever and listed in ``skipped``.
    samples, paths, seed, horizon, policy
        The run's sizes (default 100 x 100), seed and settings; the scenario's otherwise.
    levers
        The levers to study (default: all of the scenario's).
    certain
        Also simulate every package with credibility 1, to show what credibility costs.
    baseline
        A run without levers to reuse (its samples, seeds and sizes are used), or batches of them.
    """
    start = time.perf_counter()
    sc = _load(scenario)
    chosen = named_levers(sc, levers)
    xs = _intensities(intensities, allow_zero=False)
    base = _as_batches(sc, baseline or baseline_run(sc, samples, paths, seed, horizon, policy))
    todo = [(lv, x) for lv in chosen for x in xs if x <= lv.intensity_max]
    skipped = tuple(f"{lv.id}@{x:g}" for lv in chosen for x in xs if x > lv.intensity_max)
    settings = [Setting({lv.id: x}) for lv, x in todo]
    already_certain = {lv.id for lv in chosen if lv.credibility.is_fixed and lv.credibility.nominal() == 1.0}
    if certain:
        settings += [Setting({lv.id: x}, certain=True) for lv, x in todo if lv.id not in already_certain]
    tallies = base.simulate(settings, progress)
    t0 = base.tally()
    by_setting = dict(zip([(tuple(s.intensities.items()), s.certain) for s in settings], tallies, strict=True))
    rows = []
    for lv, x in todo:
        t = by_setting[(((lv.id, x),), False)]
        tc = by_setting.get((((lv.id, x),), True), t)  # a lever always certain has no certain twin
        changes: dict[str, Any] = {}
        for m in METRICS:
            e = difference(t, t0, m)
            changes |= {f"d_{m}": e.value, f"d_{m}_se": e.se}
            if certain:
                ec = difference(tc, t0, m)
                changes |= {f"d_{m}_certain": ec.value, f"d_{m}_certain_se": ec.se}
        c = lv.cost_per_unit
        rows.append(
            EffectRow(
                lever=lv.id,
                name=lv.name,
                intensity=x,
                credibility=expected(lv.credibility),
                cost=expected(c) * x,
                cost_p05=float(c.ppf(np.array([0.05]))[0]) * x,
                cost_p95=float(c.ppf(np.array([0.95]))[0]) * x,
                cost_unit=lv.cost_unit,
                **changes,
            )
        )
    return LeverEffects(
        scenario=sc.scenario.id,
        **spec_fields(base.spec, *SPEC_FIELDS),
        intensities=xs,
        baseline={m: level(t0, m) for m in METRICS},
        rows=tuple(rows),
        skipped=skipped,
        seconds=time.perf_counter() - start,
        batches=len(base.runs),
    )


HALF_WIDTH = 0.03
"""The largest 95% half-width of a lever's change in P(settlement) that :func:`lever_effects_within`
accepts: 3 percentage points."""
BATCH_SAMPLES, BATCH_PATHS, MAX_SAMPLES = 100, 50, 1000
"""Batches of :func:`lever_effects_within`: samples each, paths per sample, and samples at most
(:func:`study_sizes` of the flagship's 200 x 200). A lever's effect varies mostly between parameter
samples (some samples tip from a deal to none), so samples buy precision and paths mostly do not;
but each leader's rule is fitted on a sample's paths, so they are not made fewer than a quarter."""


def study_sizes(samples: int, paths: int) -> tuple[int, int, int]:
    """The lever study's sizes for a run of ``samples`` x ``paths`` (a scenario's ``[run]``):
    batches of half the samples with a quarter of the paths, up to five times the samples.

    ``ceasefire claims`` and the report both derive their lever study from their run's sizes, so
    at the same sizes they run the same study (200 x 200 gives 100 x 50 batches, up to 1,000).
    """
    return max(1, samples // 2), max(1, paths // 4), 5 * max(1, samples)


def lever_effects_within(
    scenario: Scenario | str | Path,
    half_width: float = HALF_WIDTH,
    intensities: Sequence[float] = (1.0,),
    levers: Sequence[str] | None = None,
    quantities: Sequence[str] = ("p12", "p24"),
    batch_samples: int = BATCH_SAMPLES,
    paths: int = BATCH_PATHS,
    max_samples: int = MAX_SAMPLES,
    seed: int | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    packages: Sequence[Mapping[str, float]] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[LeverEffects, Baselines]:
    """Each lever's effect, with batches of samples added until every 95% interval is narrow enough.

    Batch ``k`` is a run without levers of ``batch_samples`` x ``paths`` on seed
    :func:`batch_seed` ``(seed, k)``; every package is simulated on every batch with common random
    numbers. After each batch, if some change in ``quantities`` has a 95% half-width
    (``Z95`` standard errors, clustered by sample) above ``half_width``, one more batch is added,
    up to ``max_samples`` samples in all; ``LeverEffects.widest()`` says what was reached.

    ``packages`` are more lever packages (e.g. those the scenario's claims name) studied on the same
    batches and counted in the stopping rule; each is simulated as a full run per batch
    (:meth:`Baselines.runs_with`), so its per-path outcomes are there for the claims.

    Returns the effects and the batches (to simulate more packages on the same samples: a grid,
    the price of peace's confirmation). ``progress(stage, done, total)`` reports each batch.
    """
    sc = _load(scenario)
    root = sc.run.seed if seed is None else int(seed)
    if not (math.isfinite(half_width) and half_width > 0):
        raise ValueError(f"half_width must be a positive number, got {half_width!r}")
    for name, value in (("batch_samples", batch_samples), ("paths", paths), ("max_samples", max_samples)):
        if value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value}")
    extra = [dict(p) for p in packages]
    for p in extra:
        check_levers(sc, p)

    batches: Baselines | None = None
    while True:
        k = 0 if batches is None else len(batches.runs)
        label = f"levers: batch {k + 1}"
        more = baseline_run(sc, batch_samples, paths, batch_seed(root, k), horizon, policy,
                            staged(progress, f"{label}: no lever"))  # fmt: skip
        batches = Baselines((more,)) if batches is None else batches.with_run(more)
        for p in extra:
            package = " + ".join(f"{lv}={x:g}" for lv, x in sorted(p.items()))
            batches.runs_with(p, staged(progress, f"{label}: {package}"))
        effects = lever_effects(sc, intensities, levers=levers, certain=False, baseline=batches,
                                progress=staged(progress, f"{label}: lever packages"))  # fmt: skip
        effects = replace(effects, half_width=half_width)
        t0 = batches.tally()
        tallies = batches.simulate([Setting(p) for p in extra])
        widths = [effects.widest(quantities), *(Z95 * difference(t, t0, q).se for t in tallies for q in quantities)]
        widest = max((w for w in widths if math.isfinite(w)), default=math.nan)
        if not widest > half_width or batches.samples + batch_samples > max_samples:
            return replace(effects, reached=widest), batches


# -- two levers together ----------------------------------------------------------------------
@dataclass(frozen=True)
class LeverGrid(Tabular):
    """Two levers at every pair of intensities: ``[i][j]`` is lever ``a`` at ``intensities_a[i]``
    and lever ``b`` at ``intensities_b[j]``; row and column 0 are the single levers (intensity 0)."""

    scenario: str
    samples: int
    paths: int
    seed: int
    horizon: int
    policy: str
    certain: bool
    a: str
    b: str
    intensities_a: tuple[float, ...]
    intensities_b: tuple[float, ...]
    p12: tuple[tuple[float, ...], ...]
    p12_se: tuple[tuple[float, ...], ...]
    d_p12: tuple[tuple[float, ...], ...]
    d_p12_se: tuple[tuple[float, ...], ...]
    p24: tuple[tuple[float, ...], ...]
    p24_se: tuple[tuple[float, ...], ...]
    d_p24: tuple[tuple[float, ...], ...]
    d_p24_se: tuple[tuple[float, ...], ...]
    cost: tuple[tuple[float, ...], ...]  # expected cost of the package
    cost_unit: str  # "" when the two levers' costs are in different units (then cost is NaN)
    seconds: float
    version: str = __version__


def lever_grid(
    scenario: Scenario | str | Path,
    a: str,
    b: str,
    intensities: Sequence[float] = (0.0, *DEFAULT_INTENSITIES),
    intensities_b: Sequence[float] | None = None,
    samples: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    certain: bool = False,
    baseline: RunResult | Baselines | None = None,
    progress: Progress | None = None,
) -> LeverGrid:
    """P(settlement within 12 and 24 months) for levers ``a`` and ``b`` at every pair of intensities.

    Intensity 0 is added to both axes where missing, so the grid's first row and column are the
    single levers. ``certain`` simulates both levers with credibility 1.
    """
    start = time.perf_counter()
    sc = _load(scenario)
    if a == b:
        raise ValueError(f"a grid needs two different levers, got '{a}' twice")
    la, lb = named_levers(sc, [a, b])
    xa = _axis(sc, a, intensities)
    xb = _axis(sc, b, intensities if intensities_b is None else intensities_b)
    base = _as_batches(sc, baseline or baseline_run(sc, samples, paths, seed, horizon, policy))
    pairs = [(i, j) for i in range(len(xa)) for j in range(len(xb))]
    settings = [Setting({a: xa[i], b: xb[j]}, certain=certain) for i, j in pairs]
    tallies = base.simulate(settings, progress)
    t0 = base.tally()
    keys = ("p12", "p12_se", "d_p12", "d_p12_se", "p24", "p24_se", "d_p24", "d_p24_se")
    cells = {key: [[math.nan] * len(xb) for _ in xa] for key in keys}
    for (i, j), t in zip(pairs, tallies, strict=True):
        for m in ("p12", "p24"):
            lev, d = level(t, m), difference(t, t0, m)
            cells[m][i][j], cells[f"{m}_se"][i][j] = lev.value, lev.se
            cells[f"d_{m}"][i][j], cells[f"d_{m}_se"][i][j] = d.value, d.se
    same_unit = la.cost_unit == lb.cost_unit
    ca, cb = expected(la.cost_per_unit), expected(lb.cost_per_unit)
    cost = tuple(tuple((ca * x + cb * y) if same_unit else math.nan for y in xb) for x in xa)
    grids: dict[str, Any] = {key: tuple(tuple(r) for r in cells[key]) for key in keys}
    return LeverGrid(
        scenario=sc.scenario.id,
        **spec_fields(base.spec, *SPEC_FIELDS),
        certain=certain,
        a=a,
        b=b,
        intensities_a=xa,
        intensities_b=xb,
        **grids,
        cost=cost,
        cost_unit=la.cost_unit if same_unit else "",
        seconds=time.perf_counter() - start,
    )


# -- helpers ----------------------------------------------------------------------------------
def _load(scenario: Scenario | str | Path) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    from ceasefire.scenario.load import load_scenario

    return load_scenario(scenario)


def named_levers(scenario: Scenario, ids: Sequence[str] | None) -> list[Lever]:
    """The scenario's levers named by ``ids`` (all of them where ``None``); an unknown or repeated name
    is a ``ValueError`` that lists the scenario's levers."""
    known = {lv.id: lv for lv in scenario.levers}
    if not known:
        raise ValueError(f"scenario '{scenario.scenario.id}' has no [[levers]]")
    if ids is None:
        return list(known.values())
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown lever '{unknown[0]}' (levers: {', '.join(known)})")
    if len(set(ids)) != len(ids):
        raise ValueError(f"a lever is named twice: {', '.join(ids)}")
    return [known[i] for i in ids]


def _intensities(xs: Sequence[float], allow_zero: bool) -> tuple[float, ...]:
    out = tuple(float(x) for x in xs)
    if not out:
        raise ValueError("no intensities given")
    bad = [x for x in out if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero)]
    if bad:
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"intensities must be {need} numbers, got {bad[0]:g}")
    return tuple(sorted(set(out)))


def _axis(sc: Scenario, lever_id: str, xs: Sequence[float]) -> tuple[float, ...]:
    axis = _intensities((0.0, *xs), allow_zero=True)
    for x in axis:
        check_levers(sc, {lever_id: x})
    return axis


def _as_batches(scenario: Scenario, baseline: RunResult | Baselines) -> Baselines:
    """``baseline`` as batches, once checked to be runs of ``scenario``."""
    if baseline.scenario != scenario:
        raise ValueError("the baseline must be a run of the same scenario")
    return baseline if isinstance(baseline, Baselines) else Baselines((baseline,))


def __getattr__(name: str) -> Any:
    """``price_of_peace`` and ``PriceOfPeace`` live in :mod:`ceasefire.analysis.price`, which builds
    on this module; they are re-exported here lazily (an import at the top would be circular)."""
    if name in ("PriceOfPeace", "price_of_peace"):
        from ceasefire.analysis import price

        return getattr(price, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
