"""The price of peace: the cheapest lever package that reaches a target probability of settlement.

The problem, with ``P_W(x)`` the probability of a first settlement within ``W`` months when the
levers are applied at intensities ``x`` (each at the scenario's credibility)::

    minimise   cost(x) = sum_l c_l x_l            c_l = E[cost_per_unit_l] (the mean of its distribution)
    subject to P_W(x) >= target,
               x_l in {0, h_l, 2 h_l, .., intensity_max_l},  h_l = intensity_max_l / steps.

Costs are added only when every lever's cost is in one unit (``cost_unit``); otherwise the
problem is refused, and the user chooses levers with one unit (there is no exchange rate in a
scenario between, say, "bn USD/year" and "political capital").

``P_W`` is estimated by Monte Carlo with common random numbers (every package on the same samples
and seeds, :func:`ceasefire.analysis.levers.simulate_settings`): a deterministic step function of
``x``, flat almost everywhere, on which gradient and simplex methods stall. The search is SciPy's
``differential_evolution`` (Storn & Price 1997) on the lattice (``integrality``), with the target as
a ``NonlinearConstraint`` (Lampinen 2002) and a whole generation simulated at once (``vectorized``);
its local polish is replaced by a descent on the lattice (:func:`_descend`).

The search runs at small sizes, a package's probability there being the probability without levers
on the confirmation run plus the package's change on the search runs (a paired difference, far more
precise than a level on a few samples). The package found is re-simulated on the confirmation run,
whose paths it was not fitted to: an honest standard error, no selection bias. Levers that alone,
at their largest intensity, do not raise the probability on the search runs are left out of the
search (a screen that can be turned off). docs/levers.md gives the reasons at length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import NonlinearConstraint, OptimizeResult, differential_evolution

from ceasefire import __version__
from ceasefire.analysis.frames import Tabular, spec_fields
from ceasefire.analysis.levers import (
    Baselines,
    Estimate,
    Setting,
    Tally,
    _load,
    baseline_run,
    difference,
    expected,
    level,
    named_levers,
    simulate_settings,
    staged,
)
from ceasefire.run.experiment import RunResult
from ceasefire.scenario.schema import Lever, Scenario

__all__ = ["PackageSearch", "PriceOfPeace", "cheapest_package", "price_of_peace"]

Array = NDArray[np.float64]
Steps = NDArray[np.int64]

SEARCH_SAMPLES, SEARCH_PATHS = 24, 24
STEPS, POPSIZE, MAXITER = 20, 8, 15


@dataclass(frozen=True)
class PackageSearch:
    """What the optimizer found on the lattice (``steps`` per lever, intensity = ``k / steps * upper``)."""

    x: tuple[float, ...]  # intensities of the cheapest feasible package, else of the most probable one
    probability: float
    cost: float
    feasible: bool
    evaluations: int  # distinct packages simulated
    generations: int
    message: str


class _Cached:
    """``probability`` on lattice points, each distinct point evaluated once, new points in one batch."""

    def __init__(self, probability: Callable[[Array], Array], upper: Array, steps: int) -> None:
        self.probability, self.upper, self.steps = probability, upper, steps
        self.seen: dict[tuple[int, ...], float] = {}

    def x(self, k: Steps) -> Array:
        return np.asarray(k, dtype=float) / self.steps * self.upper

    def __call__(self, k: Steps) -> Array:
        keys = [tuple(int(v) for v in row) for row in np.atleast_2d(k)]
        new = sorted({key for key in keys if key not in self.seen})
        if new:
            for key, p in zip(new, self.probability(self.x(np.array(new))), strict=True):
                self.seen[key] = float(p)
        return np.array([self.seen[key] for key in keys])


def cheapest_package(
    probability: Callable[[Array], Array],
    unit_costs: Sequence[float] | Array,
    upper: Sequence[float] | Array,
    target: float,
    steps: int = STEPS,
    popsize: int = POPSIZE,
    maxiter: int = MAXITER,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PackageSearch:
    """Minimise ``unit_costs . x`` subject to ``probability(x) >= target`` on the lattice.

    Parameters
    ----------
    probability
        Maps packages ``(K, N)`` (intensities) to probabilities ``(K,)``; deterministic.
    unit_costs, upper
        Cost per unit of intensity and largest intensity of each of the ``N`` levers.
    steps
        Lattice steps per lever between 0 and its largest intensity.
    popsize, maxiter, seed
        Differential evolution's population multiplier, generations and seed.
    """
    c, hi = np.asarray(unit_costs, dtype=float), np.asarray(upper, dtype=float)
    n = c.size
    if n == 0 or hi.shape != c.shape:
        raise ValueError("need one unit cost and one largest intensity per lever, and at least one lever")
    cached = _Cached(probability, hi, steps)

    def cost(k: Steps) -> Array:
        return np.asarray(c @ cached.x(np.atleast_2d(k)).T, dtype=float)

    zero = np.zeros((1, n), dtype=np.int64)
    if cached(zero)[0] >= target:
        return _search(cached, zero[0], cost, target, 0, "no lever needed: the target is met without levers")

    def each_generation(intermediate_result: OptimizeResult) -> None:
        if progress is not None:
            progress(intermediate_result.nit, maxiter)

    def constraint(k: Steps) -> Array:
        k = np.asarray(k)
        p = cached(np.round(k.T if k.ndim == 2 else k[None, :]).astype(np.int64))
        return p[None, :] if k.ndim == 2 else p

    result = differential_evolution(
        lambda k: cost(np.round(np.asarray(k).T).astype(np.int64)),
        bounds=[(0, steps)] * n,
        constraints=NonlinearConstraint(constraint, target, np.inf),
        integrality=np.ones(n, dtype=bool),
        x0=np.full(n, steps),
        popsize=popsize,
        maxiter=maxiter,
        polish=False,
        vectorized=True,
        updating="deferred",
        rng=np.random.default_rng(seed),
        callback=each_generation,
    )
    feasible = [k for k, p in cached.seen.items() if p >= target]
    if not feasible:
        best = max(cached.seen, key=lambda k: cached.seen[k])
        return _search(cached, np.array(best), cost, target, result.nit, str(result.message))
    k = min(feasible, key=lambda k: (float(cost(np.array(k))[0]), sum(k)))
    return _search(cached, _descend(cached, np.array(k), cost, target), cost, target, result.nit, str(result.message))


EXCHANGE = 3
"""Most steps up on one lever in an exchange move of the lattice descent (for one step down on another)."""


def _descend(cached: _Cached, k: Steps, cost: Callable[[Steps], Array], target: float) -> Steps:
    """Lattice descent from a feasible ``k``: one step down on a lever, or, when no such step stays
    feasible, one step down on one lever and up to ``EXCHANGE`` steps up on another; the cheapest
    feasible move is taken (fewest steps at equal cost) until none lowers the cost (or, at equal
    cost, the total intensity)."""
    n = k.size
    eye = np.eye(n, dtype=np.int64)
    down = [-eye[i] for i in range(n)]
    exchange = [-eye[i] + m * eye[j] for i in range(n) for j in range(n) if i != j for m in range(1, EXCHANGE + 1)]
    while True:
        step = _best_move(cached, k, down, cost, target)
        if step is None:
            step = _best_move(cached, k, exchange, cost, target)
        if step is None:
            return k
        k = step


def _best_move(
    cached: _Cached, k: Steps, moves: list[Steps], cost: Callable[[Steps], Array], target: float
) -> Steps | None:
    """The cheapest of the moves from ``k`` that stay on the lattice, lower (cost, steps) and are feasible."""
    cand = np.array([k + m for m in moves if (k + m >= 0).all() and (k + m <= cached.steps).all()])
    if cand.size == 0:
        return None
    here = (float(cost(k)[0]), int(k.sum()))
    costs = cost(cand)
    better = [i for i in range(len(cand)) if (float(costs[i]), int(cand[i].sum())) < here]
    p = cached(cand[better])  # none better: nothing simulated
    ok = [better[i] for i in range(len(better)) if p[i] >= target]
    if not ok:
        return None
    return cand[min(ok, key=lambda i: (float(costs[i]), int(cand[i].sum())))]


def _search(
    cached: _Cached, k: Steps, cost: Callable[[Steps], Array], target: float, generations: int, message: str
) -> PackageSearch:
    p = float(cached(k[None, :])[0])
    return PackageSearch(
        x=tuple(float(v) for v in cached.x(k)),
        probability=p,
        cost=float(cost(k)[0]),
        feasible=p >= target,
        evaluations=len(cached.seen),
        generations=generations,
        message=message,
    )


@dataclass(frozen=True)
class PriceOfPeace(Tabular):
    """The cheapest package found, and its probability re-estimated on a fresh, larger run.

    ``reached``: the search found a package meeting the target at the search size;
    ``probability`` is that package's on the confirmation run (samples x paths, seed), where it
    may fall short of the target by Monte Carlo error or by the search's small size: ``verdict``
    says which case holds. When nothing reached the target, ``package`` is the most probable
    package found and ``at_max`` every lever at its largest intensity.
    """

    scenario: str
    target: float
    within: int
    levers: tuple[str, ...]  # the levers considered
    dropped: tuple[str, ...]  # left out of the search: no positive effect alone at their largest intensity
    cost_unit: str
    reached: bool
    verdict: str
    package: dict[str, float]
    cost: float  # expected cost: sum of E[cost_per_unit] x intensity
    cost_p05: float  # 5-95% of the cost over the uncertain unit costs
    cost_p95: float
    probability: Estimate  # P(settlement within `within` months) with the package, confirmation run
    baseline: Estimate  # without levers, confirmation run
    at_max: Estimate | None  # every lever of the search at its largest intensity (when not reached)
    search_probability: float  # the search's estimate: baseline (confirmation run) + change (search runs)
    search_baseline: float  # P without levers on the search runs
    samples: int
    paths: int
    seed: int
    search_samples: int
    search_paths: int
    search_seed: int
    horizon: int
    policy: str
    steps: int
    evaluations: int
    generations: int
    optimizer: str
    seconds: float
    version: str = __version__
    search_message: str = ""  # the optimizer's own stopping message (diagnostics, not for readers)
    reference_samples: int | None = None  # the run the levels are stated against, when not the confirmation
    reference_paths: int | None = None
    searched: bool = True  # False: every lever at its largest intensity fell short, so no search was run


def price_of_peace(
    scenario: Scenario | str | Path,
    target: float,
    within: int = 12,
    levers: Sequence[str] | None = None,
    samples: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    search_samples: int = SEARCH_SAMPLES,
    search_paths: int = SEARCH_PATHS,
    steps: int = STEPS,
    popsize: int = POPSIZE,
    maxiter: int = MAXITER,
    confirm_seed: int | None = None,
    screen: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    confirm: RunResult | Baselines | None = None,
    reference: RunResult | None = None,
) -> PriceOfPeace:
    """The cheapest package of lever intensities that brings P(settlement within ``within`` months)
    to ``target``, searched at ``search_samples x search_paths`` on ``seed`` and confirmed at
    ``samples x paths`` (default 100 x 100) on ``confirm_seed`` (default ``seed + 1``).

    ``confirm`` gives the confirmation runs instead (a run without levers, or batches of them,
    whose sizes and seeds then replace ``samples``, ``paths`` and ``confirm_seed``). ``reference``,
    a larger run without levers (e.g. a report's headline run), makes every probability reported
    its level plus the change on the confirmation runs (common random numbers), with the two
    standard errors combined, so that the price of peace starts from the same probability as that
    run; the confirmation runs then measure changes only.

    Every lever of the search at its largest intensity is confirmed first:
    when even that falls short of the target, no search is run and the result says so (a package
    of smaller intensities could beat it only if some lever lowered the probability in company,
    which the screen is there to rule out).

    ``levers`` restricts the package to some levers (default: all of the scenario's, which must
    then share one cost unit). With ``screen``, levers that alone at their largest intensity do
    not raise the probability on the search runs are left out of the search (``dropped``).
    ``progress(stage, done, total)`` reports the stages.
    """
    start = time.perf_counter()
    sc = _load(scenario)
    if not (isinstance(target, int | float) and 0.0 < target < 1.0):
        raise ValueError(f"target must be a probability strictly between 0 and 1, got {target!r}")
    chosen = named_levers(sc, levers)
    unit = _common_unit(chosen)
    for name, value in (("steps", steps), ("popsize", popsize), ("maxiter", maxiter),
                        ("search_samples", search_samples), ("search_paths", search_paths)):  # fmt: skip
        if value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value}")
    stage = partial(staged, progress)
    h = sc.scenario.horizon if horizon is None else horizon
    if not (isinstance(within, int) and 1 <= within <= h):
        raise ValueError(f"within must be a whole number of months in [1, {h}] (the horizon), got {within!r}")
    quantity = f"p{within}"
    search_base = baseline_run(sc, search_samples, search_paths, seed, h, policy, stage("baseline (search)"))
    if confirm is None:
        fresh = search_base.spec.seed + 1 if confirm_seed is None else confirm_seed
        confirm = baseline_run(sc, samples, paths, fresh, h, search_base.spec.policy, stage("baseline (confirm)"))
    checked = confirm if isinstance(confirm, Baselines) else Baselines((confirm,))
    if reference is not None and (reference.scenario != sc or reference.spec.levers):
        raise ValueError("the reference must be a run without levers of the same scenario")
    t0_confirm = checked.tally()
    p0 = level(Tally.of_run(reference) if reference is not None else t0_confirm, quantity)
    p0_search = level(Tally.of_run(search_base), quantity).value

    pool = list(chosen)
    dropped: tuple[str, ...] = ()
    if screen and len(pool) > 1:
        alone = simulate_settings(search_base, [Setting({lv.id: lv.intensity_max}) for lv in pool])
        gains = [level(t, quantity).value - p0_search for t in alone]
        dropped = tuple(lv.id for lv, g in zip(pool, gains, strict=True) if g <= 0)
        pool = [lv for lv, g in zip(pool, gains, strict=True) if g > 0] or pool
    ids = [lv.id for lv in pool]
    unit_costs = [expected(lv.cost_per_unit) for lv in pool]
    upper = {lv.id: lv.intensity_max for lv in pool}

    def confirmed(t: Tally) -> Estimate:
        if reference is None:
            return level(t, quantity)
        change = difference(t, t0_confirm, quantity)
        return Estimate(p0.value + change.value, float(np.hypot(p0.se, change.se)))

    def probability(x: Array) -> Array:
        """The confirmation run's level plus the package's change on the search runs (CRN)."""
        settings = [Setting(dict(zip(ids, (float(v) for v in row), strict=True))) for row in x]
        small = np.array([level(t, quantity).value for t in simulate_settings(search_base, settings)])
        return p0.value + (small - p0_search)

    at_max = confirmed(checked.simulate([Setting(upper)], stage("every lever at its largest intensity"))[0])
    if at_max.value < target:
        top = tuple(upper[i] for i in ids)
        estimate = float(probability(np.array([top]))[0])
        found = PackageSearch(
            x=top,
            probability=estimate,
            cost=float(np.dot(unit_costs, top)),
            feasible=False,
            evaluations=1,
            generations=0,
            message="not searched: every lever at its largest intensity falls short of the target",
        )
        package = {lv.id: 0.0 for lv in chosen} | upper
        p = at_max
    else:
        found = cheapest_package(
            probability,
            unit_costs,
            [upper[i] for i in ids],
            target,
            steps=steps,
            popsize=popsize,
            maxiter=maxiter,
            seed=search_base.spec.seed,
            progress=stage("search (generations)"),
        )
        package = {lv.id: 0.0 for lv in chosen} | dict(zip(ids, found.x, strict=True))
        p = confirmed(checked.simulate([Setting(package)], stage("confirm"))[0])
    per_sample = sum(checked.parameter(f"levers.{i}.cost_per_unit") * x for i, x in package.items())
    spec = checked.spec
    return PriceOfPeace(
        scenario=sc.scenario.id,
        target=float(target),
        within=within,
        levers=tuple(lv.id for lv in chosen),
        dropped=dropped,
        cost_unit=unit,
        reached=found.feasible,
        verdict=_verdict(found, p, None if found.feasible else at_max, target, within),
        package=package,
        cost=found.cost,
        cost_p05=float(np.quantile(per_sample, 0.05)),
        cost_p95=float(np.quantile(per_sample, 0.95)),
        probability=p,
        baseline=p0,
        at_max=None if found.feasible else at_max,
        search_probability=found.probability,
        search_baseline=p0_search,
        **spec_fields(spec, "samples", "paths", "seed"),
        search_samples=search_base.spec.samples,
        search_paths=search_base.spec.paths,
        search_seed=search_base.spec.seed,
        horizon=h,
        policy=spec.policy,
        steps=steps,
        evaluations=found.evaluations,
        generations=found.generations,
        optimizer="SciPy's differential evolution, then a descent on the lattice",
        seconds=time.perf_counter() - start,
        search_message=found.message,
        reference_samples=None if reference is None else reference.spec.samples,
        reference_paths=None if reference is None else reference.spec.paths,
        searched=found.generations > 0 or found.feasible or not found.message.startswith("not searched"),
    )


def _verdict(found: PackageSearch, p: Estimate, at_max: Estimate | None, target: float, within: int) -> str:
    what = f"P(settlement within {within} months) >= {target:.0%}"
    if not found.feasible and found.message.startswith("not searched"):
        return (
            f"no package reaches {what}: every lever at its largest intensity gives {p.value:.1%} ± {p.se:.1%}, "
            "so no package was searched for"
        )
    if not found.feasible or at_max is not None:
        at_max = at_max or p
        return (
            f"no package reaches {what}: the most probable package found gives {p.value:.1%} ± {p.se:.1%}, "
            f"every lever at its largest intensity {at_max.value:.1%} ± {at_max.se:.1%}"
        )
    if p.value >= target:
        return f"reached: {what} ({p.value:.1%} ± {p.se:.1%} on the confirmation run)"
    close = "within 2 standard errors of" if p.value + 2 * p.se >= target else "more than 2 standard errors below"
    return (
        f"reached in the search (estimated {found.probability:.1%}) but not on the confirmation run: "
        f"{p.value:.1%} ± {p.se:.1%}, {close} the target"
    )


def _common_unit(levers: Sequence[Lever]) -> str:
    units = {lv.cost_unit for lv in levers}
    if len(units) > 1:
        listed = ", ".join(f"{lv.id}: '{lv.cost_unit}'" for lv in levers)
        raise ValueError(
            f"the levers' costs are in different units ({listed}); costs in different units cannot be "
            "added: choose levers whose costs share one unit, or restate the costs in one unit in the scenario"
        )
    return units.pop()
