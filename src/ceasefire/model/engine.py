"""The war engine: monthly steps over many paths at once.

One call simulates a chunk of outer samples, each with its own paths; all arrays are flat
over ``samples x paths``. With the ``optimal`` policy each leader first solves his stopping
problem on paths of the war as he imagines it (:mod:`ceasefire.model.decision`). Then, every
month of the true war, in this order:

1. **Decide** (paths at war): each leader values every terms option on the table against
   fighting on; the war ends where some terms are acceptable to both, on the terms with the
   largest Nash product of the two leaders' gains (:mod:`ceasefire.model.bargaining`).
   The bargaining range of the month is recorded (:mod:`ceasefire.solve.bargaining_range`) on
   each sample's first :data:`PATH_BLOCK` paths: it describes the month and decides nothing, and
   4,096 paths per sample describe it well enough. Only those paths have a column in
   :attr:`Outcomes.monthly` (:attr:`Outcomes.monthly_paths` says which), so its memory does not
   grow with paths beyond the first block.
2. **Fight** (paths still at war) and run both **economies** (:class:`ceasefire.model.world.World`).
3. **Leaders** may lose office (:mod:`ceasefire.model.hazard`); a successor takes over with
   the person-tied reasons partly reset.
4. **Ceasefires** may break down; the war resumes from the state of that moment.

The kernels are pure; this module owns the order of events only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import bargaining, hazard
from ceasefire.model.attrition import objective_progress
from ceasefire.model.decision import LeaderRules, features, imagined_paths, log_power_ratio, other, solve_rules
from ceasefire.model.valuation import (
    TRANSITION_REASONS,
    Structure,
    Valuation,
    elements,
    stake_shift,
    victory,
    victory_at,
    victory_battlefield,
)
from ceasefire.model.world import N_NORMAL, N_UNIFORM, U_BREAK, U_REMOVE_A, Side, World
from ceasefire.scenario.schema import SIDES, Scenario
from ceasefire.solve.bargaining_range import bargaining_range

__all__ = [
    "BELIEFS",
    "PATH_BLOCK",
    "POLICIES",
    "TRANSITION_REASONS",
    "Outcomes",
    "RunConfig",
    "Structure",
    "fit_rules",
    "monthly_paths",
    "path_blocks",
    "per_path",
    "simulate",
]

Array = NDArray[np.float64]

POLICIES = ("optimal", "myopic")
"""Decision rules: ``optimal`` (least-squares Monte Carlo stopping); ``myopic`` (fight a fixed
look-ahead at today's hazard, then take the best deal the other side accepts today)."""
BELIEFS = ("scenario", "true")
"""``scenario``: leaders decide with the scenario's optimism; ``true``: with the true model."""

RANGE_GRID = np.linspace(0.0, 1.0, 9)
"""Victory scores at which peace is valued to find each leader's reservation score."""

TRUE_WORLD, IMAGINED = 0, {"A": 1, "B": 2}
"""Child streams of each sample's seed: the true war, and each leader's imagined war."""


@dataclass(frozen=True)
class RunConfig:
    horizon: int
    lookahead: int = 6
    policy: str = "optimal"
    beliefs: str = "scenario"
    basis_degree: int = 2
    allow_settlement: bool = True
    record: bool = False
    """Keep monthly trajectories (territory, casualties, stocks, at-war, gains) for every path."""
    bargaining_range: bool = True
    backend: str = "numpy"
    """``numpy`` (this module) or ``jax`` (:mod:`ceasefire.model.jax_engine`, the ``jax`` extra)."""


@dataclass
class Outcomes:
    """Per-path results of one chunk (arrays of shape ``(n,)`` unless noted)."""

    sample: NDArray[np.int64]
    first_settlement: NDArray[np.int64]  # month of the first settlement, -1 if none
    first_terms: NDArray[np.int64]  # index into Structure.terms, -1 if none
    under_successor: NDArray[np.bool_]  # first settlement signed by a successor (either side)
    casualties_to_settlement: dict[str, Array]
    casualties_total: dict[str, Array]
    held_at_end: Array  # km² held by A at the first settlement, else at the horizon
    objectives_taken: NDArray[np.float64]  # (n, objectives) progress at the same moment
    removed: dict[str, NDArray[np.bool_]]
    removal_month: dict[str, NDArray[np.int64]]
    ceasefire_months: NDArray[np.int64]  # months the first ceasefire held (to breakdown or horizon)
    ceasefire_broke: NDArray[np.bool_]
    ceasefire_break_rate: Array  # monthly breakdown probability of the first ceasefire, NaN if none
    settlements: NDArray[np.int64]
    breakdowns: NDArray[np.int64]
    at_war_at_end: NDArray[np.bool_]
    monthly_paths: NDArray[np.bool_]  # the paths that have a column in ``monthly`` (in path order)
    monthly: dict[str, NDArray[Any]] = field(default_factory=dict)  # (months, monthly_paths.sum()): range, at war
    trajectories: dict[str, Array] = field(default_factory=dict)  # (months + 1, n)


def per_path(values: Mapping[str, Array], paths: int) -> dict[str, Array]:
    """Repeat per-sample parameter arrays ``(s,)`` to per-path arrays ``(s * paths,)``."""
    return {k: np.repeat(np.asarray(v, dtype=float), paths) for k, v in values.items()}


def child(seed: np.random.SeedSequence, j: int) -> np.random.SeedSequence:
    """The ``j``-th child of ``seed``, the same however often it is asked for."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, j))


PATH_BLOCK = 4096
"""Paths of one sample simulated together at most. A sample with more paths is simulated block by
block, block ``b`` (paths ``b * PATH_BLOCK ..``) drawing its own noise, so memory stays flat in
paths; the leaders' rules are fitted on the first block of imagined paths and applied to every
block. A sample of at most ``PATH_BLOCK`` paths is one block, whose noise is the sample's streams
themselves."""


def path_blocks(paths: int) -> list[tuple[int, int]]:
    """The ``(first, end)`` paths of each block of a sample of ``paths`` paths."""
    return [(lo, min(lo + PATH_BLOCK, paths)) for lo in range(0, paths, PATH_BLOCK)]


def monthly_paths(samples: int, paths: int, config: RunConfig, block: int | None = None) -> NDArray[np.bool_]:
    """Which of ``samples x paths`` paths (sample by sample) have the month's bargaining range
    recorded: each sample's first ``block`` paths (default :data:`PATH_BLOCK`), none when the range
    is not asked for."""
    first = np.arange(paths) < (PATH_BLOCK if block is None else block)
    return np.tile(first & config.bargaining_range, samples)


def _noise(
    seeds: Sequence[np.random.SeedSequence],
    stream: int,
    paths: int,
    months: int,
    levers: int,
    block: int | Sequence[int] = 0,
) -> tuple[Array, Array, Array]:
    """Lever draws ``(n, levers)``, normals ``(months, n, 5)`` and uniforms ``(months, n, 5)``, sample by sample.

    Block ``b > 0`` of a sample's paths (see :data:`PATH_BLOCK`) draws from child ``b`` of the
    stream; ``block`` is one block for every seed or one per seed.
    """
    n = len(seeds) * paths
    blocks = [block] * len(seeds) if isinstance(block, int) else list(block)
    if len(blocks) != len(seeds):
        raise ValueError(f"{len(blocks)} blocks given for {len(seeds)} seeds")
    lever_u = np.empty((n, levers))
    z = np.empty((months, n, N_NORMAL))
    u = np.empty((months, n, N_UNIFORM))
    for i, (seed, b) in enumerate(zip(seeds, blocks, strict=True)):
        stream_seed = child(seed, stream)
        g = np.random.Generator(np.random.PCG64(stream_seed if b == 0 else child(stream_seed, b)))
        sl = slice(i * paths, (i + 1) * paths)
        lever_u[sl] = g.random((paths, levers))
        z[:, sl] = g.standard_normal((months, paths, N_NORMAL))
        u[:, sl] = g.random((months, paths, N_UNIFORM))
    return lever_u, z, u


def _world(
    scenario: Scenario,
    st: Structure,
    params: Mapping[str, Array],
    intensities: Mapping[str, float],
    lever_u: Array,
    power_bias: Mapping[str, Array] | None = None,
) -> World:
    from ceasefire.run.sampling import apply_levers

    carried = {lv: lever_u[:, j] < params[f"levers.{lv}.credibility"] for j, lv in enumerate(st.levers)}
    return World(scenario, params, apply_levers(scenario, params, intensities, carried), power_bias)


def simulate(
    scenario: Scenario,
    params: Mapping[str, Array],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    sample_offset: int = 0,
    *,
    block: int | Sequence[int] = 0,
    rules: LeaderRules | None = None,
) -> Outcomes:
    """Simulate ``len(seeds)`` outer samples of ``paths`` paths each.

    Parameters
    ----------
    params
        Per-path parameter arrays of shape ``(len(seeds) * paths,)`` keyed by dotted path,
        levers *not* yet applied (see :func:`ceasefire.run.sampling.apply_levers`).
    seeds
        One seed per outer sample: its paths' noise (true and imagined) comes from it alone, so
        a sample's results do not depend on how samples are grouped into chunks.
    block
        Which block of its sample's paths each seed's paths are (see :data:`PATH_BLOCK`), one for
        all or one per seed: the true war's noise of block ``b > 0`` comes from its own child seed.
        ``0`` for samples simulated whole. (The same seed may appear once per block.)
    rules
        The leaders' rules from :func:`fit_rules` (the optimal policy); fitted here, on these
        paths, when not given.
    """
    if config.policy not in POLICIES:
        raise ValueError(f"unknown policy '{config.policy}' (policies: {', '.join(POLICIES)})")
    if config.beliefs not in BELIEFS:
        raise ValueError(f"unknown beliefs '{config.beliefs}' (beliefs: {', '.join(BELIEFS)})")
    st = Structure.from_scenario(scenario)
    n_samples, T = len(seeds), config.horizon
    n = n_samples * paths
    intensities = dict(lever_intensity or {})
    biased = config.beliefs == "scenario"
    optimism = {s: params[f"leaders.{s}.optimism"] * biased for s in SIDES}

    if rules is None:
        rules = fit_rules(scenario, params, seeds, paths, config, lever_intensity)
    elif config.policy != "optimal" or not config.allow_settlement:
        raise ValueError("rules are the optimal policy's; this run's leaders do not use them")
    elif rules.samples != n_samples:
        raise ValueError(f"rules were fitted for {rules.samples} samples, not {n_samples}")

    lever_u, z, u = _noise(seeds, TRUE_WORLD, paths, T, len(st.levers), block)
    blocks = np.broadcast_to(np.asarray(block, dtype=np.int64), (n_samples,))
    # the range is a description, not a decision: recorded on each sample's first block of paths
    ranged = np.repeat(blocks == 0, paths) if config.bargaining_range else np.zeros(n, dtype=bool)
    column = np.cumsum(ranged) - 1  # a ranged path's column in ``monthly``
    n_ranged = int(ranged.sum())
    world = _world(scenario, st, params, intensities, lever_u)
    sides = world.sides
    p = world.p

    sample_of = np.repeat(np.arange(n_samples), paths)
    successor = {s: np.zeros(n, dtype=bool) for s in SIDES}
    removed = {s: np.zeros(n, dtype=bool) for s in SIDES}
    removal_month = {s: np.full(n, -1, dtype=np.int64) for s in SIDES}
    at_war = np.ones(n, dtype=bool)
    terms_now = np.full(n, -1, dtype=np.int64)
    peace_start = np.full(n, -1, dtype=np.int64)
    broken = np.full(n, scenario.ceasefire.prior_broken, dtype=float)
    settlements = np.zeros(n, dtype=np.int64)
    breakdowns = np.zeros(n, dtype=np.int64)
    first_month = np.full(n, -1, dtype=np.int64)
    first_terms = np.full(n, -1, dtype=np.int64)
    under_successor = np.zeros(n, dtype=bool)
    cas_to_settle = {s: np.zeros(n) for s in SIDES}
    held_end = np.full(n, np.nan)
    progress_end = np.full((n, st.n_objectives), np.nan)
    cf_months = np.zeros(n, dtype=np.int64)
    cf_broke = np.zeros(n, dtype=bool)
    cf_rate = np.full(n, np.nan)
    victory_now = {s: np.zeros(n) for s in SIDES}
    monthly: dict[str, NDArray[Any]] = {}
    if config.bargaining_range:
        monthly = {k: np.full((T, n_ranged), np.nan) for k in ("range_low", "range_high")}
        monthly["at_war_decision"] = np.zeros((T, n_ranged), dtype=bool)
    traj: dict[str, list[Array]] = {}

    def record() -> None:
        if not config.record:
            return
        for name, arr in (
            ("held_km2", world.held),
            ("casualties_A", world.cum_cas["A"]),
            ("casualties_B", world.cum_cas["B"]),
            ("at_war", at_war.astype(float)),
            ("reserves_A", world.reserves["A"]),
            ("reserves_B", world.reserves["B"]),
            ("manpower_A", world.manpower["A"]),
            ("manpower_B", world.manpower["B"]),
            ("equipment_A", world.equipment["A"]),
            ("equipment_B", world.equipment["B"]),
            ("stability_A", world.stability["A"]),
            ("stability_B", world.stability["B"]),
        ):
            traj.setdefault(name, []).append(np.array(arr, dtype=float))

    record()
    L = config.lookahead

    for t in range(T):
        gain_rows = (
            {f"gain_{s}_{term}": np.full(n, np.nan) for s in SIDES for term in st.terms} if config.record else {}
        )
        progress = world.progress()
        available = st.available_from <= t

        # 1. decide ---------------------------------------------------------------------
        if config.bargaining_range:
            monthly["at_war_decision"][t] = at_war[ranged]
        if config.allow_settlement and at_war.any():
            idx = np.flatnonzero(at_war)
            val: dict[str, Valuation] = {}
            fight_on: dict[str, Array] = {}
            # a leader's values of the terms are needed only where some terms could suit both (and
            # where the range is recorded): elsewhere bounds show that none can. Recording the gains
            # values every element. With the optimal policy B's values are then read only where A
            # gains: they are valued after A's, there alone
            screen = not config.record
            lazy_b = screen and rules is not None
            scores: dict[str, Array] = {}
            battle: dict[str, Array] = {}
            for s in SIDES:
                sd_ = sides[s]
                slog = world.state_log(s)
                battle[s] = vb = victory_battlefield(st, s, progress[idx], sd_, idx)
                victory_now[s][idx] = vb
                if screen:  # terms by paths, as the screen reads them
                    scores[s] = victory(st, s, progress[idx], sd_, idx, by_terms=True)
                val[s] = Valuation.of(
                    sd_, successor[s], idx, slog[idx], world.peace_log(s, slog)[idx], vb,
                    None if screen else victory(st, s, progress[idx], sd_, idx),
                )  # fmt: skip
            keep = ranged[idx]  # the paths whose range is recorded
            later = other(SCREEN_FIRST)
            if rules is not None:
                # with the screen, the other leader's rule is read only where the first leader's bounds
                # leave some terms open, or the range is recorded: elsewhere no terms suit the first
                for s in (SCREEN_FIRST,) if screen else SIDES:
                    fight_on[s] = _rule_fight_on(
                        rules, world, s, t, val[s], battle[s], idx, successor[s], sample_of, optimism[s]
                    )
            if screen:
                # under the optimal policy the floors are the values of fighting on themselves (the same
                # dict): the other leader's, filled in below, are his floor for _deal_possible
                floor = (
                    fight_on
                    if rules is not None
                    else {s: _myopic_fight_floor(val[s].fight_terms(L), val[s].stay) for s in SIDES}
                )
                open_first = _terms_open(val[SCREEN_FIRST], scores[SCREEN_FIRST], available, floor[SCREEN_FIRST])
                if rules is not None:
                    need = np.flatnonzero(open_first.any(axis=0) | keep)
                    fight_on[later] = np.full(idx.size, np.nan)  # not read where the first refuses every terms
                    fight_on[later][need] = _rule_fight_on(
                        rules, world, later, t, val[later].take(need), battle[later][need], idx[need],
                        successor[later], sample_of, optimism[later],
                    )  # fmt: skip
            at = idx  # the paths whose decision is worked out in full
            if rules is not None and keep.any():  # the range needs no values of the terms: now
                _record_range(monthly, t, column[idx[keep]], st, sides, val, fight_on, idx, keep)
                keep = np.zeros_like(keep)
            if screen:
                possible = _deal_possible(open_first, val[later], scores[later], floor[later])
                rows = np.flatnonzero(possible | keep)
                at, keep = idx[rows], keep[rows]
                val = {s: val[s].take(rows) for s in SIDES}
                fight_on = {s: f[rows] for s, f in fight_on.items()}
                scores = {s: v[:, rows] for s, v in scores.items()}
                for s in SIDES[: 1 if lazy_b else 2]:
                    val[s] = replace(val[s], peace_now=val[s].peace(scores[s].T))
            if rules is None:
                fight_on = _myopic_fight_value(world, st, val, at, available, optimism, L)
            if lazy_b:  # NaN where not read: no terms are chosen there either way
                read = (val["A"].peace_now - fight_on["A"][:, None] >= 0.0) & available[None, :]
                val["B"] = val["B"].with_peace_now(read, elements(scores["B"].T))
            gains = {s: val[s].peace_now - fight_on[s][:, None] for s in SIDES}
            if config.record:
                for s in SIDES:
                    for j, term in enumerate(st.terms):
                        gain_rows[f"gain_{s}_{term}"][idx] = gains[s][:, j]
            if keep.any():  # the myopic leaders' range, which reads their values of fighting on
                _record_range(monthly, t, column[at[keep]], st, sides, val, fight_on, at, keep)
            choice = bargaining.choose_terms(gains["A"], gains["B"], available)
            signs = choice >= 0
            if signs.any():
                who = at[signs]
                k = choice[signs]
                at_war[who] = False
                terms_now[who] = k
                peace_start[who] = t
                settlements[who] += 1
                first = who[first_month[who] < 0]
                kf = terms_now[first]
                first_month[first] = t
                first_terms[first] = kf
                under_successor[first] = successor["A"][first] | successor["B"][first]
                cf_rate[first] = bargaining.breakdown_probability(
                    p["ceasefire.breakdown"][first],
                    st.guarantees[kf],
                    p["ceasefire.guarantee_factor"][first],
                    p["ceasefire.record_factor"][first],
                    broken[first],
                )
                for s in SIDES:
                    cas_to_settle[s][first] = world.cum_cas[s][first]
                held_end[first] = world.held[first]
                progress_end[first] = progress[first]
                for s in SIDES:
                    victory_now[s][who] = victory(st, s, progress[who], sides[s], who)[np.arange(len(who)), k]

        # 2. fight, economies -----------------------------------------------------------
        relief = np.where(at_war, 0.0, st.sanctions_relief[np.maximum(terms_now, 0)])
        world.step(z[t], u[t], at_war, relief)
        ut = u[t]

        # 3. leaders --------------------------------------------------------------------
        for i, s in enumerate(SIDES):
            sd_ = sides[s]
            rate0 = sd_.rate0(successor[s])
            slog = world.state_log(s)
            war_rate = hazard.war_rate(rate0, slog)
            shock_total = sum((sd_.reason(r, successor[s]) for r in TRANSITION_REASONS), np.zeros(n))
            since = np.maximum(t - peace_start, 0)
            shock = hazard.transition_shock(shock_total, victory_now[s], sd_.ld["victory_relief"]) * np.exp(
                -since / sd_.ld["shock_months"]
            )
            peace_rate = hazard.peace_base_rate(rate0, slog, sd_.reason("legitimacy", successor[s])) + shock
            h = hazard.probability(np.where(at_war, war_rate, peace_rate))
            out = ut[:, U_REMOVE_A + i] < h
            removal_month[s] = np.where(out & ~removed[s], t, removal_month[s])
            removed[s] |= out
            successor[s] |= out

        # 4. ceasefires -----------------------------------------------------------------
        in_peace = ~at_war
        k_now = np.maximum(terms_now, 0)
        p_break = bargaining.breakdown_probability(
            p["ceasefire.breakdown"],
            st.guarantees[k_now],
            p["ceasefire.guarantee_factor"],
            p["ceasefire.record_factor"],
            broken,
        )
        breaks = in_peace & (ut[:, U_BREAK] < p_break)
        first_peace = in_peace & (settlements == 1)
        cf_months = np.where(first_peace & ~cf_broke, cf_months + 1, cf_months)
        cf_broke |= breaks & (settlements == 1)
        at_war = at_war | breaks
        breakdowns += breaks
        broken += breaks
        terms_now = np.where(breaks, -1, terms_now)
        for s in SIDES:  # the war resumes at the start's intensity, not at peace's zero
            world.casualty_ratio[s] = np.where(breaks, 1.0, world.casualty_ratio[s])
        for name, row in gain_rows.items():
            traj.setdefault(name, []).append(row)
        record()

    never = first_month < 0
    held_end = np.where(never, world.held, held_end)
    progress_end = np.where(never[:, None], world.progress(), progress_end)
    for s in SIDES:
        cas_to_settle[s] = np.where(never, world.cum_cas[s], cas_to_settle[s])
    sample = np.repeat(np.arange(n_samples, dtype=np.int64) + sample_offset, paths)
    return Outcomes(
        sample=sample,
        first_settlement=first_month,
        first_terms=first_terms,
        under_successor=under_successor,
        casualties_to_settlement=cas_to_settle,
        casualties_total=world.cum_cas,
        held_at_end=held_end,
        objectives_taken=progress_end,
        removed=removed,
        removal_month=removal_month,
        ceasefire_months=cf_months,
        ceasefire_broke=cf_broke,
        ceasefire_break_rate=cf_rate,
        settlements=settlements,
        breakdowns=breakdowns,
        at_war_at_end=at_war,
        monthly_paths=ranged,
        monthly=monthly,
        trajectories={k: np.stack(v) for k, v in traj.items()},
    )


def _record_range(
    monthly: dict[str, NDArray[Any]],
    t: int,
    columns: NDArray[np.int64],
    st: Structure,
    sides: Mapping[str, Side],
    val: Mapping[str, Valuation],
    fight_on: Mapping[str, Array],
    idx: NDArray[np.int64],
    keep: NDArray[np.bool_],
) -> None:
    """Month ``t``'s bargaining range on the paths ``idx[keep]`` (``val`` and ``fight_on`` are over
    ``idx``), into their ``columns`` of ``monthly``."""
    whole = bool(keep.all())
    rows = idx if whole else idx[keep]
    res = {}
    for s in SIDES:
        v = val[s] if whole else val[s].take(keep)
        res[s] = v.reservation_score(RANGE_GRID, fight_on[s] if whole else fight_on[s][keep])
    low, high = bargaining_range(
        res["A"], stake_shift(st, "A", sides["A"], rows), res["B"], stake_shift(st, "B", sides["B"], rows)
    )
    monthly["range_low"][t, columns] = low
    monthly["range_high"][t, columns] = high


def fit_rules(
    scenario: Scenario,
    params: Mapping[str, Array],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
) -> LeaderRules | None:
    """Each leader's stopping rules, fitted on ``paths`` paths per sample of the war he imagines.

    ``None`` unless the policy is ``optimal`` and settlement is allowed. ``params`` are per-path
    arrays of shape ``(len(seeds) * paths,)``, as for :func:`simulate`; the imagined paths are the
    first block of each leader's imagined stream (:data:`PATH_BLOCK` paths at most are needed).
    """
    if config.policy != "optimal" or not config.allow_settlement:
        return None
    st = Structure.from_scenario(scenario)
    n_samples, T = len(seeds), config.horizon
    n = n_samples * paths
    intensities = dict(lever_intensity or {})
    biased = config.beliefs == "scenario"
    problems = {}
    for s in SIDES:
        optimism = params[f"leaders.{s}.optimism"] * biased
        lever_u, z, u = _noise(seeds, IMAGINED[s], paths, T, len(st.levers))
        imagined = _world(scenario, st, params, intensities, lever_u, {s: optimism})
        doubt = imagined.sides[s].belief("resolve_doubt", n) * biased
        problems[s] = imagined_paths(imagined, st, s, z, u, n_samples, paths, doubt)
        del z, u
    return solve_rules(problems, config.basis_degree, n_samples, paths)


SCREEN_FIRST = "B"
"""The leader whose bounds on the value of peace the screen of the decisions reads first, on every path
at war; the other's are read only on the elements he leaves open, and (with the optimal policy) the
other's rule only on the paths where he leaves some terms open. On the flagship B leaves about half
the paths open and a third of the elements, A nine paths in ten and a quarter of the elements
(2 samples x 20,000 paths, 12 months)."""


def _rule_fight_on(
    rules: LeaderRules,
    world: World,
    side: str,
    t: int,
    val: Valuation,
    v_battle: Array,
    idx: NDArray[np.int64],
    successor: NDArray[np.bool_],
    sample_of: NDArray[np.int64],
    optimism: Array,
) -> Array:
    """A leader's value of fighting on at month ``t``, on the paths ``idx`` (``val`` and ``v_battle`` on
    them): his rule's continuation value at the regressors of his believed world. Each path's value
    is its own (the same bits on any set of paths)."""
    believed = log_power_ratio(world, side) + optimism
    feats = features(world, side, val, v_battle, idx, believed)
    cont = rules.continuation_at(side, t, feats, successor[idx], sample_of[idx])
    # months at which his imagined war never offered a deal leave no fitted rule: he then values
    # fighting on as fighting forever at today's hazard
    return np.where(np.isnan(cont), val.stay, cont)


def _terms_open(val: Valuation, scores: Array, available: NDArray[np.bool_], floor: Array) -> NDArray[np.bool_]:
    """``(terms, n)``: the terms that might suit a leader, those available whose value of peace is not
    certainly below ``floor`` (a lower bound on his value of fighting on, or that value): his upper
    bound (:meth:`Valuation.peace_ceiling`, at ``scores`` laid out terms by paths) is not below it.
    An undecided comparison (NaN) leaves the terms open."""
    return available[:, None] & ~(val.peace_ceiling(scores) < floor[None, :])


def _deal_possible(open_first: NDArray[np.bool_], val: Valuation, scores: Array, floor: Array) -> NDArray[np.bool_]:
    """``(n,)``: paths on which some terms might suit both leaders this month.

    ``open_first`` are the terms the first leader's bounds leave open (:func:`_terms_open`); ``val``,
    ``scores`` (terms by paths) and ``floor`` are the other leader's, bounded only on those elements
    (:meth:`Valuation.peace_ceiling_at`). Where, for every terms, one leader's upper bound on the value
    of peace is below his floor, no terms are acceptable to both and nothing is chosen: those paths
    need no exact values. The rest (a superset of the paths where terms are chosen) are True; so is
    any path where a comparison is undecided (NaN).
    """
    terms, rows = np.nonzero(open_first)
    ceiling_at = val.peace_ceiling_at(rows, scores[terms, rows])
    possible = np.zeros(open_first.shape[1], dtype=bool)
    possible[rows[~(ceiling_at < floor[rows])]] = True
    return possible


def _myopic_fight_floor(fight: tuple[Array, Array], stay: Array) -> Array:
    """A lower bound on a myopic leader's value of fighting on (:func:`_myopic_fight_value`), from his
    ``(now, then)`` of fighting ``lookahead`` months (``then >= 0``): fighting them, then on forever."""
    now, then = fight
    return now + then * stay


def _myopic_fight_value(
    world: World,
    st: Structure,
    val: Mapping[str, Valuation],
    idx: NDArray[np.int64],
    available: NDArray[np.bool_],
    optimism: Mapping[str, Array],
    lookahead: int,
) -> dict[str, Array]:
    """A myopic leader fights ``lookahead`` months at today's hazard and then expects the best deal
    the other side accepts today, valued at the victory score he projects (with his optimism),
    or else to fight on forever."""
    power = world.power()
    rho = power["A"] / np.maximum(power["B"], 1e-12)
    accepts, projected, fight = {}, {}, {}
    for s in SIDES:
        belief = np.exp(optimism[s][idx] * (1.0 if s == "A" else -1.0))
        expected_gain = world.mu[idx] * np.power(rho[idx] * belief, world.theta[idx])
        gained = world.held[idx] - world.held0[idx] + lookahead * expected_gain
        projected[s] = objective_progress(gained, world.obj_bounds[idx])
        fight[s] = val[s].fight_terms(lookahead)  # fight_then(lookahead, c) = now + then * c, twice
        stay_then = _myopic_fight_floor(fight[s], val[s].stay)
        accepts[s] = (val[s].peace_now >= stay_then[:, None]) & available[None, :]
    out = {}
    for s, o in (("A", "B"), ("B", "A")):
        # his value of peace later is read only on the terms the other accepts: valued there alone
        # (element by element, the same bits as on every element)
        best_later = val[s].best_peace(accepts[o], partial(victory_at, st, s, projected[s], world.sides[s], idx))
        out[s] = fight[s][0] + fight[s][1] * np.maximum(val[s].stay, best_later)
    return out
