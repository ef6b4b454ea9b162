"""Why a leader does not take a deal: his gap decomposed into the scenario's factors by exact Shapley values.

For the leader of one side, in month ``N`` (see :func:`explain`):

- his **value of fighting on**: the continuation value of his optimal stopping rule (least-squares
  Monte Carlo on the war as he imagines it, exactly as :mod:`ceasefire.model.engine` computes it
  for the month's decision), on the true paths of the war fought on without a deal to month ``N``;
- his **value of each terms option** on the table in that month (signing now);
- the **gap**: fighting on minus the best option for him. A positive gap is why he does not sign.

The scenario's ``[[factors]]`` name groups of parameters (Aron's reasons, casualties, economic
pain, punishment...). Each group is switched as one between its scenario values and its neutral
values (0 unless stated). ``v(S)`` is the gap with the groups in ``S`` at their scenario values and
the others neutral; the Shapley value of group ``i`` (Shapley 1953) is::

    phi_i = sum over S not containing i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S))

over all ``2^k`` coalitions, so ``sum_i phi_i = v(all) - v(none)``: the gap is the neutral gap
(every factor neutral) plus the factors' parts, exactly. Every coalition is evaluated on the same
parameter samples and the same random numbers (common random numbers), so the differences are
not noise. The decomposition is made per parameter sample and averaged; its standard error is over
the samples.

Speed: a group that only enters the leader's valuation (his reasons, his hazard weights, his
punishment) leaves the war's paths unchanged, so the paths are simulated once per coalition of
the groups that move them (the economy, stability, his optimism) and the coalitions of the others
are batched as extra problems of one vectorized valuation and stopping solve.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.analysis.frames import Tabular
from ceasefire.errors import CeasefireError
from ceasefire.model.calculus import month_of, month_values, other, record, removal_uniforms, stopping_problem
from ceasefire.model.decision import RIDGE, features
from ceasefire.model.engine import IMAGINED, TRUE_WORLD, draw_noise, per_path, war_setup
from ceasefire.model.params import Leader, Pair, Params, get_at, map_leaves, replace_at, tree_path
from ceasefire.model.structure import Structure
from ceasefire.model.war import Observed, log_ratio
from ceasefire.run.executor import executor_for
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.schema import SIDES, Scenario
from ceasefire.solve.lsm import OptimalStopping

__all__ = ["DEFAULT_HORIZON", "DEFAULT_PATHS", "DEFAULT_SAMPLES", "Explanation", "FactorPart", "explain", "shapley"]

Array = NDArray[np.float64]

DEFAULT_SAMPLES = 8
"""Outer parameter samples of ``ceasefire explain`` (``--samples``)."""
DEFAULT_PATHS = 32
"""Paths per sample of each leader's imagined war (``--paths``)."""
DEFAULT_HORIZON = 36
"""Months of the leader's stopping problem (``--horizon``), at most the scenario's horizon; beyond
it he values fighting on as fighting forever at that month's hazard, as at any horizon."""
BASIS_DEGREE = 2
"""The engine's polynomial basis of the continuation value."""
BATCH_ENTRIES = 1 << 21
"""Stopping problems are solved in batches of coalitions of about this many path-months."""


@dataclass(frozen=True)
class FactorPart:
    """One factor group's Shapley value in the leader's gap, in months of office."""

    id: str
    name: str
    source: str
    shapley: float
    se: float  # standard error over the parameter samples
    share: float | None  # shapley / (gap - neutral gap); None when that is 0
    moves_war: bool  # its parameters change the war's paths (simulated once per coalition of such groups)


@dataclass(frozen=True)
class Explanation(Tabular):
    """A leader's calculus in one month and the Shapley decomposition of his gap.

    Values are in months of office (a month in office is worth 1), averaged over samples and paths.
    ``gap = fight_value - value of the compared terms``: by default, per sample, the best terms for
    him among those the other leader would sign (see :func:`explain`); ``gap = neutral_gap + sum of
    the factors' shapley`` (to rounding).
    """

    scenario: str
    side: str
    leader: str
    month: int
    fight_value: float
    terms: dict[str, float]
    compared_terms: str  # the terms the gap is to: an id, or a description of the per-sample choice
    compared_share: dict[str, float]  # share of samples in which each terms option is the compared one
    best_terms: str
    best_share: float  # share of samples in which best_terms is his best option
    best_value: float
    gap: float
    gap_se: float
    neutral_gap: float
    factors: tuple[FactorPart, ...]
    seconds: float
    sizes: dict[str, int]


def shapley(values: Array) -> Array:
    """Exact Shapley values from the values of all coalitions.

    Parameters
    ----------
    values
        ``(2^k, ...)``: ``values[mask]`` is the game's value of the coalition whose members are the
        set bits of ``mask`` (player ``i`` is bit ``i``).

    Returns
    -------
    ``(k, ...)``: ``phi_i = sum_{S not containing i} |S|! (k-|S|-1)! / k! (v(S+i) - v(S))``.
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    k = n.bit_length() - 1
    if n != 1 << k:
        raise ValueError(f"values must have 2^k rows, got {n}")
    masks = np.arange(n)
    size = np.array([bin(m).count("1") for m in masks])
    phi = np.zeros((k, *v.shape[1:]))
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        s = size[without]
        w = np.array([math.factorial(a) * math.factorial(k - a - 1) / math.factorial(k) for a in s])
        diff = v[without | (1 << i)] - v[without]
        phi[i] = np.tensordot(w, diff, axes=(0, 0))
    return phi


@dataclass(frozen=True)
class _Group:
    id: str
    name: str
    source: str
    neutral: dict[str, float]  # parameter path -> neutral value
    moves_war: bool


def _masks(bits: list[int]) -> NDArray[np.int64]:
    """Every coalition of the groups ``bits`` as bit masks, in order."""
    out = np.zeros(1 << len(bits), dtype=np.int64)
    for b, i in enumerate(bits):
        out[np.arange(out.size) >> b & 1 == 1] |= 1 << i
    return out


def _groups(scenario: Scenario, side: str) -> list[_Group]:
    groups = []
    for f in scenario.factors:
        if side not in f.applies_to():
            continue
        neutral = f.neutral_values(side)
        moves = any(not p.startswith("leaders.") or p == f"leaders.{side}.optimism" for p in neutral)
        groups.append(_Group(f.id, f.name, f.source, neutral, moves))
    return groups


def _sample(
    scenario: Scenario, samples: int, paths: int, seed: int, horizon: int
) -> tuple[dict[str, Array], list[Any]]:
    """Parameter samples (consistent with a no-deal start where the scenario says so) and their seeds."""
    from ceasefire.run.experiment import RunSpec, candidate_parameters, run
    from ceasefire.run.sampling import Seeds

    spec = RunSpec.from_scenario(scenario, samples=samples, paths=paths, seed=seed, horizon=horizon)
    spec.validate(scenario)
    seeds = Seeds.from_seed(seed)
    if scenario.scenario.no_deal_at_start:
        result = run(scenario, spec)
        values, candidates = result.parameters, result.candidates
    else:
        values = candidate_parameters(scenario, samples, seeds, 0)
        candidates = np.arange(samples)
    return dict(values), [seeds.path_seed(int(c)) for c in candidates]


def _leader_params(
    st: Structure,
    side: str,
    pp: Params,
    masks: NDArray[np.int64],
    owner: Mapping[str, int],
    neutral: Mapping[str, float],
) -> Leader:
    """One leader's parameters for a ``(C1, C2)`` grid of coalitions, each leaf ``(a, b, m)``.

    ``a`` is ``C1`` where the owning group varies along the grid's first axis, else 1 (the same
    for ``b``): work that does not depend on a group is not repeated for it.
    """
    ld: Leader = map_leaves(lambda a: np.asarray(a, dtype=float)[None, None, ...], pp.leaders[side])
    prefix = f"leaders.{side}."
    for path, i in owner.items():
        if not path.startswith(prefix):
            continue
        within = tree_path(path, st.objectives, st.lever_ids, st.terms)[2:]
        base = get_at(ld, within)
        on = ((masks >> i) & 1).astype(bool)
        if (on == on[:1]).all():
            on = on[:1]
        if (on == on[:, :1]).all():
            on = on[:, :1]
        ld = replace_at(ld, within, np.where(on[..., None], base, neutral[path]))
    return ld


def _evaluate_batch(
    war: _War,
    masks: NDArray[np.int64],
    pp: Params,
    owner: Mapping[str, int],
    neutral: Mapping[str, float],
    imagined: Observed,
    true_now: Observed,
) -> tuple[Array, Array]:
    """``war.side``'s leader's value of fighting on ``(C, samples)`` and of each terms option ``(C, samples, K)``
    for a ``(C1, C2)`` grid of coalitions, his stopping rule fitted as the engine's (:data:`BASIS_DEGREE`)."""
    st, side, month, samples = war.st, war.side, war.month, war.samples
    lead = masks.shape
    c = masks.size
    ld = Pair.of(lambda s: _leader_params(st, s, pp, masks, owner, neutral))
    problem = stopping_problem(st, side, imagined, ld, war.remove_u, lead, samples, pp.terms, pp.ceasefire)
    rule = OptimalStopping(problem, basis="polynomial", degree=BASIS_DEGREE, ridge=RIDGE).fit()
    low = problem.state[month].min(axis=1)[:, None, :]
    high = problem.state[month].max(axis=1)[:, None, :]

    broken = np.full(true_now.gained.shape[-1], float(st.prior_broken))
    now = month_values(st, side, ld[side], true_now, pp.terms, pp.ceasefire, broken)
    believed = log_ratio(true_now.power, side) + ld[side].optimism
    x = features(now.val, now.peace_battle, now.v_battle, believed, true_now.cover[side])
    m = x.shape[-2]
    per = m // samples
    x = np.broadcast_to(x, (*lead, m, x.shape[-1])).reshape(c * samples, per, -1)
    cont = rule.continuation(month, np.clip(x, low, high)).reshape(c, m)
    stay = np.broadcast_to(now.stay, (*lead, m)).reshape(c, m)
    fight = np.where(np.isnan(cont), stay, cont)
    k = now.peace_now.shape[-1]
    peace = np.broadcast_to(now.peace_now, (*lead, m, k)).reshape(c, samples, per, k)
    return fight.reshape(c, samples, per).mean(axis=2), peace.mean(axis=2)


def _imagined(st: Structure, pp: Params, side: str, z: Array, u: Array, horizon: int) -> Observed:
    """The war ``side``'s leader imagines (his optimism on his side's power), fought on with no deal."""
    optimism = pp.leaders[side].optimism
    bias = Pair(optimism, 0.0) if side == "A" else Pair(0.0, optimism)
    return record(war_setup(st, pp, None, np.zeros((z.shape[1], len(st.levers))), bias), st, z, u, horizon)


def _true_now(st: Structure, pp: Params, z: Array, u: Array, month: int) -> Observed:
    """The true war fought on with no deal to ``month``, as observed then."""
    w = war_setup(st, pp, None, np.zeros((z.shape[1], len(st.levers))))
    return month_of(record(w, st, z, u, month), month)


def _other_gains(war: _War, paths: int, pp: Params, seeds: list[Any], true_now: Observed) -> Array:
    """The other leader's gain from signing each terms option rather than fighting on, ``(samples, K)``,
    at the scenario's values: his own stopping problem on his own imagined war (the engine's stream)."""
    j = other(war.side)
    _, z, u = draw_noise(seeds, IMAGINED[j], paths, war.horizon, len(war.st.levers))
    imagined = _imagined(war.st, pp, j, z, u, war.horizon)
    his = replace(war, side=j, remove_u=removal_uniforms(u, war.side))
    fight, terms = _evaluate_batch(his, np.zeros((1, 1), dtype=np.int64), pp, {}, {}, imagined, true_now)
    return terms[0] - fight[0][:, None]


def _within_reach(his_values: Array, other_gains: Array, available: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per sample, the best terms for him among those the other leader signs (gain >= 0), or else the
    terms the other leader refuses least (largest gain)."""
    signs = (other_gains >= 0) & available
    mine = np.where(signs, his_values, -np.inf).argmax(axis=1)
    least_refused = np.where(available, other_gains, -np.inf).argmax(axis=1)
    return np.where(signs.any(axis=1), mine, least_refused)


@dataclass(frozen=True)
class _War:
    """What every coalition's valuation shares: the month, the parameter samples and the random numbers."""

    st: Structure
    side: str
    month: int
    samples: int
    horizon: int
    base: Mapping[str, Array]  # per-path parameters at the scenario's values
    z_imagined: Array
    u_imagined: Array
    z_true: Array
    u_true: Array
    remove_u: Array


@dataclass(frozen=True)
class _Coalitions:
    """How the coalitions are grouped: by the groups that move the war's paths, then the others."""

    world_neutral: tuple[dict[str, float], ...]  # the neutral values of each group that moves the war
    world_bits: tuple[int, ...]
    owner: Mapping[str, int]
    neutral: Mapping[str, float]
    series_masks: NDArray[np.int64]
    linear_masks: NDArray[np.int64]


def _world_coalitions(
    war: _War, co: _Coalitions, world_mask: int, keep_true: bool
) -> tuple[NDArray[np.int64], Array, Array, Observed | None]:
    """A unit of work: every coalition whose groups that move the war are ``world_mask``.

    The war's paths are simulated once for them all, and the coalitions of the other groups are
    valued in batches of :data:`BATCH_ENTRIES`. Returns the coalitions (bit masks), the leader's
    value of fighting on ``(C, samples)`` and of each terms option ``(C, samples, K)``, and the true
    war as observed in the month when ``keep_true``.
    """
    m = next(iter(war.base.values())).size
    flat = dict(war.base)
    for b, neutral in zip(co.world_bits, co.world_neutral, strict=True):
        if not (world_mask >> b) & 1:
            for path, value in neutral.items():
                flat[path] = np.full(m, value)
    pp = params_of(war.st, flat)
    imagined = _imagined(war.st, pp, war.side, war.z_imagined, war.u_imagined, war.horizon)
    true_now = _true_now(war.st, pp, war.z_true, war.u_true, war.month)
    series_masks = co.series_masks | world_mask
    per_batch = max(1, BATCH_ENTRIES // ((war.horizon + 1) * m * co.linear_masks.size))
    batches = []
    for lo in range(0, series_masks.size, per_batch):
        grid = series_masks[lo : lo + per_batch, None] | co.linear_masks[None, :]
        fight, values = _evaluate_batch(war, grid, pp, co.owner, co.neutral, imagined, true_now)
        batches.append((grid.ravel(), fight, values))
    masks, fight, values = (np.concatenate(parts) for parts in zip(*batches, strict=True))
    return masks, fight, values, true_now if keep_true else None


LINEAR_KEYS = ("reasons.militarism", "reasons.war_cost", "reasons.punishment", "punishment_lost_war", "policy_weight")
"""Leader parameters that enter his values only through the flow at war and the punishment, not
through the peace series: groups of these alone share the series (:func:`ceasefire.model.leader.series_parts`)."""


def explain(
    scenario: Scenario,
    side: str = "A",
    month: int = 0,
    samples: int = DEFAULT_SAMPLES,
    paths: int = DEFAULT_PATHS,
    seed: int | None = None,
    horizon: int | None = None,
    terms: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Explanation:
    """Decompose a leader's gap between fighting on and the best deal into the scenario's factors.

    Parameters
    ----------
    scenario
        A scenario; its ``[[factors]]`` for ``side`` are what the gap is decomposed into (without
        any, the values and the gap are given, with no decomposition).
    side
        ``"A"`` or ``"B"``: whose calculus.
    month
        The month of the calculus, ``0 .. horizon - 1``: the state is that of the true paths of the
        war fought on without a deal to that month (month 0: the scenario's start). The leader is
        the incumbent; terms not yet available that month are left out.
    samples, paths, seed, horizon
        Outer parameter samples, paths per sample of his imagined war (and of the true war), the
        root seed (default: the scenario's) and the months of his stopping problem (default:
        :data:`DEFAULT_HORIZON` or the scenario's horizon if shorter).
    terms
        What fighting on is compared with. ``None`` (the default): in each sample, the deal within
        reach, the best terms for him among those the other leader would sign that month (else the
        terms the other refuses least); ``"best"``: his best terms, whether or not the other would
        sign; an id of ``[[terms]]`` (available in ``month``): those terms. Chosen once per sample
        with every factor at its scenario value, and held over the coalitions.
    progress
        Called with ``(done, total)`` coalitions.
    workers
        Cores to compute on (``None``: automatic, as for a run; see
        :func:`ceasefire.run.executor.resolve_workers`). The coalitions are shared out by the groups
        that move the war's paths, each unit computed whole: the numbers do not depend on it.

    Raises
    ------
    CeasefireError
        When ``month`` is out of range or no terms are on the table then.
    """
    start = time.perf_counter()
    if side not in SIDES:
        raise CeasefireError(f"side must be A or B, got {side!r}")
    horizon = min(scenario.scenario.horizon, DEFAULT_HORIZON) if horizon is None else int(horizon)
    seed = scenario.run.seed if seed is None else int(seed)
    if not 0 <= month < horizon:
        raise CeasefireError(f"month must lie in 0 .. {horizon - 1} (the horizon is {horizon} months), got {month}")
    if samples < 1 or paths < 1:
        raise CeasefireError("samples and paths must be positive whole numbers")
    groups = _groups(scenario, side)  # none: the values and the gap, not decomposed
    st = structure_of(scenario)
    available = st.available_from <= month
    if not available.any():
        raise CeasefireError(f"no terms are on the table in month {month}")
    named = terms is not None and terms not in ("best", "accepted")
    if named and (terms not in st.terms or not available[st.terms.index(terms)]):
        on_table = ", ".join(t for t, a in zip(st.terms, available, strict=True) if a)
        raise CeasefireError(f"terms '{terms}' are not on the table in month {month} (on the table: {on_table})")
    k = len(groups)
    owner = {path: i for i, g in enumerate(groups) for path in g.neutral}
    neutral = {path: value for g in groups for path, value in g.neutral.items()}
    world_bits = [i for i, g in enumerate(groups) if g.moves_war]
    linear = {f"leaders.{side}.{key}" for key in LINEAR_KEYS}
    linear_bits = [i for i, g in enumerate(groups) if not g.moves_war and set(g.neutral) <= linear]
    series_bits = [i for i, g in enumerate(groups) if not g.moves_war and i not in linear_bits]

    values, seeds = _sample(scenario, samples, paths, seed, horizon)
    base = per_path(values, paths)
    m = samples * paths
    _, z_imagined, u_imagined = draw_noise(seeds, IMAGINED[side], paths, horizon, len(st.levers))
    _, z_true, u_true = draw_noise(seeds, TRUE_WORLD, paths, month, len(st.levers))
    remove_u = removal_uniforms(u_imagined, other(side))

    n = 1 << k
    fight = np.empty((n, samples))
    values_k = np.empty((n, samples, len(st.terms)))
    world_masks = _masks(world_bits)
    full_world = int(world_masks[-1])
    war = _War(st, side, month, samples, horizon, base, z_imagined, u_imagined, z_true, u_true, remove_u)
    world_neutral = tuple(groups[i].neutral for i in world_bits)
    coalitions = _Coalitions(world_neutral, tuple(world_bits), owner, neutral, _masks(series_bits), _masks(linear_bits))
    tasks = ((war, coalitions, int(w), int(w) == full_world) for w in world_masks)
    done = 0
    true_full: Observed | None = None
    with executor_for(workers, work=float(n * m * (horizon + 1)), units=world_masks.size) as ex:
        for _, (flat, fight_w, values_w, true_now) in ex.map_unordered(_world_coalitions, tasks):
            fight[flat], values_k[flat] = fight_w, values_w
            true_full = true_now if true_now is not None else true_full
            done += flat.size
            if progress is not None:
                progress(done, n)

    offered = np.where(available, values_k, -np.inf)
    best = offered.max(axis=2)
    full, none = n - 1, 0
    if named:
        choice = np.full(samples, st.terms.index(terms))  # type: ignore[arg-type]
        compared_label = str(terms)
    elif terms == "best":
        choice = offered[full].argmax(axis=1)
        compared_label = "his best terms"
    else:
        assert true_full is not None  # the full world coalition is always among the masks
        gain_other = _other_gains(war, paths, params_of(st, base), seeds, true_full)
        choice = _within_reach(offered[full], gain_other, available)
        compared_label = f"the best terms {scenario.leaders[other(side)].name} would sign"  # type: ignore[index]
    compared = values_k[:, np.arange(samples), choice]
    gap = fight - compared  # (coalitions, samples)
    phi = shapley(gap)
    total = gap[full].mean() - gap[none].mean()
    se = phi.std(axis=1, ddof=1) / math.sqrt(samples) if samples > 1 else np.full(k, math.nan)
    parts = [
        FactorPart(
            id=g.id,
            name=g.name,
            source=g.source,
            shapley=float(phi[i].mean()),
            se=float(se[i]),
            share=float(phi[i].mean() / total) if abs(total) > 1e-12 else None,
            moves_war=g.moves_war,
        )
        for i, g in enumerate(groups)
    ]
    parts.sort(key=lambda p: -abs(p.shapley))
    best_k = offered[full].argmax(axis=1)
    top = int(np.bincount(best_k, minlength=len(st.terms)).argmax())
    gap_full = gap[full]
    sizes = {"samples": samples, "paths": paths, "horizon": horizon, "seed": seed}
    return Explanation(
        scenario=scenario.scenario.id,
        side=side,
        leader=scenario.leaders[side].name,  # type: ignore[index]
        month=month,
        fight_value=float(fight[full].mean()),
        terms={t: float(values_k[full, :, j].mean()) for j, t in enumerate(st.terms) if available[j]},
        compared_terms=compared_label,
        compared_share={
            t: float(np.mean(choice == j)) for j, t in enumerate(st.terms) if available[j] and np.any(choice == j)
        },
        best_terms=st.terms[top],
        best_share=float((best_k == top).mean()),
        best_value=float(best[full].mean()),
        gap=float(gap_full.mean()),
        gap_se=float(gap_full.std(ddof=1) / math.sqrt(samples)) if samples > 1 else math.nan,
        neutral_gap=float(gap[none].mean()),
        factors=tuple(parts),
        seconds=time.perf_counter() - start,
        sizes=sizes | {"factors": k, "coalitions": n, "war_coalitions": 1 << len(world_bits)},
    )
