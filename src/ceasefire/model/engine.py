"""The NumPy engine: the month (:mod:`.month`) in a loop over months, on many paths at once.

One call of :func:`simulate_chunk` simulates a chunk of outer samples, each with its own paths; all
arrays are flat over ``samples x paths``. With the ``optimal`` policy each leader first solves his
stopping problem on paths of the war as he imagines it (:func:`fit_rules`, :mod:`.rules`). Then every
month of the true war runs :func:`.month.month`: the leaders decide on the paths still at war (those
paths gathered, the decision worked out by :mod:`.screen`, NumPy's fast path, or in full where the
gains are recorded), then the war, the leaders' fates and the ceasefires move on every path.

The bargaining range of the month is recorded on each sample's first :data:`PATH_BLOCK` paths: it
describes the month and decides nothing, and 4,096 paths per sample describe it well enough. Only
those paths have a column in :attr:`Outcomes.monthly` (:attr:`Outcomes.monthly_paths` says which), so
its memory does not grow with paths beyond the first block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import levers, screen, timeline
from ceasefire.model.backend import NUMPY
from ceasefire.model.decision import POLICIES, Decision, Policy, decide, narrowed, resume_probability, situation_of
from ceasefire.model.month import MonthState, begin, month, on_table, trajectory
from ceasefire.model.params import SIDES, Array, Pair, Params
from ceasefire.model.rules import LeaderRules, imagined_problems, solve_rules
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import Exact
from ceasefire.model.war import N_NORMAL, N_UNIFORM, Observed, Setup, observe, setup
from ceasefire.model.xp import namespace

__all__ = [
    "BELIEFS",
    "PATH_BLOCK",
    "POLICIES",
    "Outcomes",
    "RunConfig",
    "draw_event_uniforms",
    "draw_noise",
    "fit_rules",
    "monthly_paths",
    "path_blocks",
    "per_path",
    "simulate_chunk",
]

BELIEFS = ("scenario", "true")
"""``scenario``: leaders decide with the scenario's optimism; ``true``: with the true model."""

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
    """``numpy`` (this module) or ``jax`` (:mod:`ceasefire.model.jax`, the ``jax`` extra)."""
    screen: bool = True
    """Work each month's decision out with NumPy's fast path (:mod:`.screen`): the same numbers, bit for
    bit. A recording run values every element (it keeps the gains) whatever this says."""
    extension: int = 24
    """Months the leaders' stopping problems run beyond the horizon, so that the last months reported
    are decided like the others (the terminal value, fighting on forever, is then far off)."""

    @property
    def decision_horizon(self) -> int:
        """Months of the leaders' imagined wars."""
        return self.horizon + self.extension


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
    ceasefire_break_rate: Array  # monthly background breakdown probability of the first ceasefire at signing
    ceasefire_broken_by: NDArray[np.int64]  # who broke the first ceasefire: 0 background, 1 A, 2 B, -1 none
    settlements: NDArray[np.int64]
    breakdowns: NDArray[np.int64]
    at_war_at_end: NDArray[np.bool_]
    power_at_settlement: dict[str, Array]  # combat power (1 at the start) at the first settlement, NaN if none
    reserves_at_settlement: dict[str, Array]  # reserves at the first settlement, NaN if none
    talks_opened: NDArray[np.int64]  # talks opened (both leaders accepted terms)
    votes_failed: NDArray[np.int64]  # signings that failed their vote
    monthly_paths: NDArray[np.bool_]  # the paths that have a column in ``monthly`` (in path order)
    monthly: dict[str, NDArray[Any]] = field(default_factory=dict)  # (months, monthly_paths.sum()): range, at war
    trajectories: dict[str, Array] = field(default_factory=dict)  # (months + 1, n)


def final_outputs(s: MonthState, progress: Array) -> dict[str, Array]:
    """The per-path outcomes of the final month state, named by :class:`Outcomes`' fields (a side's as
    ``<field>_<side>``), in the state's array namespace (``progress``: its objectives' progress); paths
    never settled report the horizon's territory, progress and casualties."""
    t = s.tally
    xp = namespace(s.war.held)
    never = t.first_month < 0
    out = {
        "first_settlement": t.first_month,
        "first_terms": t.first_terms,
        "under_successor": t.under_successor,
        "held_at_end": xp.where(never, s.war.held, t.held_end),
        "objectives_taken": xp.where(never[:, None], progress, t.progress_end),
        "ceasefire_months": t.cf_months,
        "ceasefire_broke": t.cf_broke,
        "ceasefire_break_rate": t.cf_rate,
        "ceasefire_broken_by": t.cf_broken_by,
        "talks_opened": t.talks_opened,
        "votes_failed": t.votes_failed,
        "settlements": t.settlements,
        "breakdowns": t.breakdowns,
        "at_war_at_end": s.politics.at_war,
    }
    for side in SIDES:
        out[f"casualties_to_settlement_{side}"] = xp.where(never, s.war.cum_cas[side], t.cas_to_settle[side])
        out[f"casualties_total_{side}"] = s.war.cum_cas[side]
        out[f"removed_{side}"] = t.removed[side]
        out[f"removal_month_{side}"] = t.removal_month[side]
        out[f"power_at_settlement_{side}"] = t.power_end[side]
        out[f"reserves_at_settlement_{side}"] = t.reserves_end[side]
    return out


def outcomes_from(flat: Mapping[str, Any], sample: NDArray[np.int64], ranged: NDArray[np.bool_]) -> Outcomes:
    """:class:`Outcomes` from the per-path arrays of :func:`final_outputs` (``(n, ...)``, read into NumPy): a
    field's annotation says whether it holds integers and whether it holds one array per side."""
    values: dict[str, Any] = {}
    for f in fields(Outcomes):
        if f.name in ("sample", "monthly_paths", "monthly", "trajectories"):
            continue
        dtype = np.int64 if "int64" in str(f.type) else None
        if str(f.type).startswith("dict"):
            values[f.name] = {s: np.asarray(flat[f"{f.name}_{s}"], dtype=dtype) for s in SIDES}
        else:
            values[f.name] = np.asarray(flat[f.name], dtype=dtype)
    return Outcomes(sample=sample, monthly_paths=ranged, **values)


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


def draw_noise(
    seeds: Sequence[np.random.SeedSequence],
    stream: int,
    paths: int,
    months: int,
    levers: int,
    block: int | Sequence[int] = 0,
) -> tuple[Array, Array, Array]:
    """Lever draws ``(n, levers)``, normals ``(months, n, N_NORMAL)`` (6 a month) and uniforms
    ``(months, n, N_UNIFORM)`` (10 a month), sample by sample.

    ``stream`` is :data:`TRUE_WORLD` or a leader's :data:`IMAGINED` stream. Block ``b > 0`` of a sample's
    paths (see :data:`PATH_BLOCK`) draws from child ``b`` of the stream; ``block`` is one block for every
    seed or one per seed.
    """
    n = len(seeds) * paths
    blocks = [block] * len(seeds) if isinstance(block, int) else block  # one per seed: zip(strict) checks
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


EVENT_DRAWS = 1 << 30
"""Child of a stream's seed whose children draw the war's event uniforms (:func:`draw_event_uniforms`):
apart from the stream's own draws (levers, normals, uniforms), which events leave as they were, and from
its path blocks' children (``1, 2, ...``)."""


def draw_event_uniforms(
    seeds: Sequence[np.random.SeedSequence], stream: int, paths: int, events: int, block: int | Sequence[int] = 0
) -> Array:
    """``(n, events)`` uniforms that draw the months of a war's uncertain events (:func:`.timeline.event_months`),
    sample by sample: event ``e``'s from child ``e`` of the stream's child :data:`EVENT_DRAWS` (block
    ``b > 0``: its child ``b``), so that an event's draws do not depend on the events after it."""
    n = len(seeds) * paths
    blocks = [block] * len(seeds) if isinstance(block, int) else block  # one per seed: zip(strict) checks
    out = np.empty((n, events))
    for i, (seed, b) in enumerate(zip(seeds, blocks, strict=True)):
        draws = child(child(seed, stream), EVENT_DRAWS)
        for e in range(events):
            one = child(draws, e)
            g = np.random.Generator(np.random.PCG64(one if b == 0 else child(one, b)))
            out[i * paths : (i + 1) * paths, e] = g.random(paths)
    return out


def war_setup(
    st: Structure,
    params: Params,
    intensity: Mapping[str, Any] | None,
    lever_u: Array,
    bias: Pair[Array] | None = None,
    event_u: Array | None = None,
) -> Setup:
    """The start of a war: the levers drawn (``lever_u``) and applied, the references without them; with
    events or levers that start late, what changes after the start (``event_u``: the war's event uniforms,
    its own draws of the uncertain events' months)."""
    carried = levers.carried_out(params, lever_u)
    x = levers.intensities(st, intensity)
    sch = timeline.schedule(st, params, x, carried, event_u)
    if sch is None:
        return setup(levers.apply(params, st, x, carried), params, bias)
    return setup(timeline.params_at(sch, st, 0), params, bias, sch)


def check_config(config: RunConfig) -> None:
    """Raise ``ValueError`` for an unknown policy or beliefs."""
    if config.policy not in POLICIES:
        raise ValueError(f"unknown policy '{config.policy}' (policies: {', '.join(POLICIES)})")
    if config.beliefs not in BELIEFS:
        raise ValueError(f"unknown beliefs '{config.beliefs}' (beliefs: {', '.join(BELIEFS)})")


def simulate_chunk(
    st: Structure,
    params: Params,
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    intensity: Mapping[str, Any] | None = None,
    sample_offset: int = 0,
    *,
    block: int | Sequence[int] = 0,
    rules: LeaderRules | None = None,
) -> Outcomes:
    """Simulate ``len(seeds)`` outer samples of ``paths`` paths each, in NumPy.

    Parameters
    ----------
    params
        Per-path parameters ``(len(seeds) * paths,)``, levers *not* yet applied.
    seeds
        One seed per outer sample: its paths' noise (true and imagined) comes from it alone, so
        a sample's results do not depend on how samples are grouped into chunks.
    intensity
        Each lever's intensity by id (a number, or one per path); levers left out are off.
    block
        Which block of its sample's paths each seed's paths are (see :data:`PATH_BLOCK`), one for
        all or one per seed: the true war's noise of block ``b > 0`` comes from its own child seed.
        ``0`` for samples simulated whole. (The same seed may appear once per block.)
    rules
        The leaders' rules from :func:`fit_rules` (the optimal policy); fitted here, on these
        paths, when not given.
    """
    check_config(config)
    n_samples, horizon = len(seeds), config.horizon
    n = n_samples * paths
    if rules is None:
        rules = fit_rules(st, params, seeds, paths, config, intensity)
    elif config.policy != "optimal" or not config.allow_settlement:
        raise ValueError("rules are the optimal policy's; this run's leaders do not use them")
    elif rules.samples != n_samples:
        raise ValueError(f"rules were fitted for {rules.samples} samples, not {n_samples}")

    lever_u, z, u = draw_noise(seeds, TRUE_WORLD, paths, horizon, len(st.levers), block)
    blocks = np.broadcast_to(np.asarray(block, dtype=np.int64), (n_samples,))
    # the range is a description, not a decision: recorded on each sample's first block of paths
    ranged = np.repeat(blocks == 0, paths) if config.bargaining_range else np.zeros(n, dtype=bool)
    event_u = draw_event_uniforms(seeds, TRUE_WORLD, paths, len(st.events), block)
    w = war_setup(st, params, intensity, lever_u, event_u=event_u)
    sample_of = np.repeat(np.arange(n_samples), paths)
    biased = config.beliefs == "scenario"
    optimism = Pair.of(lambda s: params.leaders[s].optimism * biased)
    monthly: dict[str, NDArray[Any]] = {}
    if config.bargaining_range:
        n_ranged = int(ranged.sum())
        monthly = {k: np.full((horizon, n_ranged), np.nan) for k in ("range_low", "range_high", "range_on_table")}
        monthly["at_war_decision"] = np.zeros((horizon, n_ranged), dtype=bool)
    decide_month = resume_month = None
    if config.allow_settlement:
        policy = Policy(config.policy, config.lookahead, None if rules is None else rules.continuation_at)
        decide_month = _decider(st, policy, config, optimism, sample_of, ranged)
        if _may_resume(st, w):
            resume_month = _resumer(st, policy, optimism, sample_of)
    traj: dict[str, list[Array]] = {}
    s = begin(w, st, n)
    if config.record:
        _keep(traj, trajectory(s))
    for t in range(horizon):
        if config.bargaining_range:
            monthly["at_war_decision"][t] = s.politics.at_war[ranged]
        s, decision = month(w, st, s, t, z[t], u[t], decide_month, resume_month)
        if config.bargaining_range and decision is not None:
            for name, value in (("range_low", decision.range_low), ("range_high", decision.range_high)):
                if value is not None:
                    monthly[name][t] = value[ranged]
            if decision.range_low is not None:
                on_table = decision.acceptable[ranged].any(axis=1)
                monthly["range_on_table"][t] = np.where(np.isnan(decision.range_low[ranged]), np.nan, on_table)
        if config.record:
            gains = decision.gains if decision is not None else None
            for side in SIDES:
                for j, term in enumerate(st.terms):
                    row = np.full(n, np.nan) if gains is None else gains[side][:, j]
                    traj.setdefault(f"gain_{side}_{term}", []).append(row)
            _keep(traj, trajectory(s))
    sample = np.repeat(np.arange(n_samples, dtype=np.int64) + sample_offset, paths)
    out = outcomes_from(final_outputs(s, observe(w, s.war).progress), sample, ranged)
    out.monthly, out.trajectories = monthly, {k: np.stack(v) for k, v in traj.items()}
    return out


def _may_resume(st: Structure, w: Setup) -> bool:
    """Whether a leader may break a ceasefire by choice: a spread of the choice above zero at the start,
    or one an event or a lever may set later."""
    if np.any(np.asarray(w.p.ceasefire.resume_noise) > 0.0):
        return True
    later = [c.target for e in st.events for c in e.changes] + [lv.target for lv in st.levers if lv.start_month > 0]
    return ("ceasefire", "resume_noise") in later


def _keep(traj: dict[str, list[Array]], row: Mapping[str, Array]) -> None:
    for name, value in row.items():
        traj.setdefault(name, []).append(np.array(value, dtype=float))


def _decider(
    st: Structure,
    policy: Policy,
    config: RunConfig,
    optimism: Pair[Array],
    sample_of: NDArray[np.int64],
    ranged: NDArray[np.bool_],
) -> Any:
    """The NumPy month's decision: on the paths at war only, by the screen or in full; laid out on every path."""
    use_screen = config.screen and not config.record

    def decide_month(w: Setup, s: MonthState, obs: Observed, power: Pair[Array], t: int) -> Decision:
        n = s.politics.broken.shape[0]
        at = np.flatnonzero(s.politics.at_war)
        if at.size == 0:
            return _empty_decision(n, config.record, len(st.terms))
        table = on_table(w, st, s.politics, obs.progress, t)
        sit = narrowed(situation_of(w, s.politics.successor, s.politics.broken, obs, optimism, sample_of, table), at)
        keep = ranged[at]
        if use_screen:
            d = screen.decide(st, policy, sit, t, keep)
        else:
            d = decide(st, NUMPY, policy, sit, t, ranged=bool(keep.any()), record=config.record)
        # laid out after the decision, in the room its temporaries leave (fewer fresh pages)
        return _scatter(_empty_decision(n, config.record, len(st.terms)), d, at, keep)

    return decide_month


def _resumer(st: Structure, policy: Policy, optimism: Pair[Array], sample_of: NDArray[np.int64]) -> Any:
    """Each leader's probability of breaking the ceasefire in force, worked out on the paths at peace."""

    def resume_month(w: Setup, s: MonthState, obs: Observed, t: int) -> Pair[Array]:
        n = s.politics.broken.shape[0]
        out = Pair(np.zeros(n), np.zeros(n))
        peace = np.flatnonzero(~s.politics.at_war)
        if peace.size == 0:
            return out
        pol = s.politics
        table = np.ones((n, len(st.terms)), dtype=bool)
        sit = narrowed(situation_of(w, pol.successor, pol.broken, obs, optimism, sample_of, table), peace)
        since = np.maximum(t - pol.peace_start[peace], 0).astype(float)
        chance = resume_probability(
            st, NUMPY, policy, sit, t, since, pol.terms_now[peace],
            Pair.of(lambda side: pol.victory_now[side][peace]), Pair.of(lambda side: pol.attainment_now[side][peace]),
            Pair.of(lambda side: pol.audience[side][peace]),
        )  # fmt: skip
        out.A[peace], out.B[peace] = chance.A, chance.B
        return out

    return resume_month


def _empty_decision(n: int, record: bool, terms: int) -> Decision:
    """No terms chosen anywhere; NaN values (fresh arrays, filled in by :func:`_scatter`)."""

    def nan(*shape: int) -> Array:
        return np.full((n, *shape), np.nan)

    return Decision(
        choice=np.full(n, -1, dtype=np.int64),
        acceptable=np.zeros((n, terms), dtype=bool),
        v_battle=Pair(nan(), nan()),
        victory=Pair(nan(terms), nan(terms)),
        attainment=Pair(nan(terms), nan(terms)),
        gains=Pair(nan(terms), nan(terms)) if record else None,
        range_low=nan(),
        range_high=nan(),
    )


def _scatter(full: Decision, d: Decision, at: NDArray[np.int64], keep: NDArray[np.bool_]) -> Decision:
    """The decision on the paths ``at`` written into ``full`` (fresh arrays on every path; the range only
    where ``keep``)."""
    for f in fields(Decision):
        whole, part = getattr(full, f.name), getattr(d, f.name)
        if whole is None or part is None:
            continue
        rows, picked = (at[keep], keep) if f.name.startswith("range_") else (at, slice(None))
        pairs = [(whole[s], part[s]) for s in SIDES] if isinstance(whole, Pair) else [(whole, part)]
        for into, values in pairs:
            into[rows] = values[picked]
    return full


def fit_rules(
    st: Structure,
    params: Params,
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    intensity: Mapping[str, Any] | None = None,
) -> LeaderRules | None:
    """Each leader's stopping rules, fitted on ``paths`` paths per sample of the war he imagines.

    ``None`` unless the policy is ``optimal`` and settlement is allowed. ``params`` are per-path
    arrays of shape ``(len(seeds) * paths,)``, as for :func:`simulate_chunk`; the imagined paths are the
    first block of each leader's imagined stream (:data:`PATH_BLOCK` paths at most are needed).
    """
    if config.policy != "optimal" or not config.allow_settlement:
        return None
    n_samples, horizon = len(seeds), config.decision_horizon
    biased = config.beliefs == "scenario"
    ev = screen.Lazy() if config.screen else Exact(NUMPY)
    problems = {}
    for s in SIDES:
        optimism = params.leaders[s].optimism * biased
        lever_u, z, u = draw_noise(seeds, IMAGINED[s], paths, horizon, len(st.levers))
        bias = Pair(optimism, 0.0) if s == "A" else Pair(0.0, optimism)
        event_u = draw_event_uniforms(seeds, IMAGINED[s], paths, len(st.events))
        w = war_setup(st, params, intensity, lever_u, bias, event_u)
        doubt = w.p.leaders[s].resolve_doubt * biased
        problems[s] = imagined_problems(w, st, s, z, u, n_samples, paths, doubt, ev)
        del z, u
    return solve_rules(problems, config.basis_degree, n_samples, paths)
