"""The war engine as jitted JAX calls: ``--backend jax``.

The same model, order of events and outputs as :func:`ceasefire.model.engine.simulate` (read its
docstring for the order of events), written as a fused step function: a ``lax.scan`` over months,
vectorized over the paths of a sample, and ``vmap`` over the parameter samples of a block (a fixed
number of samples per compiled call, :func:`samples_per_block`). With the ``optimal`` policy each
leader's stopping rule is fitted on his imagined war first, per sample, by ridge least squares in
JAX (:mod:`.jax.lsm`), the fits mapped one at a time (``lax.map``).

A sample of more paths than :func:`path_block` is simulated in path blocks, as by NumPy
(``engine.PATH_BLOCK``): its first block by the whole model (the rules fitted on that many imagined
paths), each later block of the true war by a second compiled call given the rules, its random
numbers keyed by the block's index; the calls are dispatched ahead (:data:`MAX_IN_FLIGHT`) and their
outputs copied into the result on the host, so memory stays flat in paths but for the outputs.

Random numbers come from JAX's own generator (threefry), keyed per sample and stream from the
sample's :class:`numpy.random.SeedSequence` (the same child streams as the NumPy engine: the true
war, and each leader's imagined war), and per month by ``fold_in``: a sample's numbers depend on
its seed alone, not on the other samples in the call. The draws follow the same distributions
as NumPy's, not the same bits (the normals are drawn in float32, :data:`NORMALS_DTYPE`): the two
backends agree in distribution, within Monte Carlo error.

64-bit floats are switched on around the call only (``jax.enable_x64``); importing this module
changes no global JAX setting.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ceasefire.errors import CeasefireError

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise CeasefireError("the JAX backend needs jax: pip install 'ceasefire[jax]'") from exc

from ceasefire.model.decision import N_FEATURES, RIDGE
from ceasefire.model.engine import (
    BELIEFS,
    IMAGINED,
    POLICIES,
    RANGE_GRID,
    TRUE_WORLD,
    Outcomes,
    RunConfig,
    child,
    monthly_paths,
)
from ceasefire.model.jax import kernels as K
from ceasefire.model.jax import lsm
from ceasefire.model.jax.valuation import (
    TRANSITION_REASONS,
    Valuation,
    peace_values,
    stake_shift,
    victory,
    victory_battlefield,
)
from ceasefire.model.jax.world import State, World, other
from ceasefire.model.valuation import Structure
from ceasefire.model.world import N_NORMAL, N_UNIFORM, U_BREAK, U_REMOVE_A
from ceasefire.scenario.schema import SIDES, Scenario, param_domain

__all__ = [
    "PATH_BLOCK",
    "TRAJECTORIES",
    "lower",
    "path_block",
    "path_blocks",
    "simulate",
    "simulate_samples",
    "state_bytes_per_path_step",
]

Array = jax.Array
SAMPLES_AXIS = "samples"
"""The name of the call's axis of samples (``vmap``): the values of peace decide their rare slow branch
once for the whole call."""
Lever = tuple[str, str, str, float, float]
"""A lever as the engine applies it: id, target, effect, and the target's domain (low, high); its
intensity is an input of the call, so that lever settings share one compiled function."""

TRAJECTORIES = (
    ("held_km2", "held"),
    ("casualties_A", "cum_cas_A"),
    ("casualties_B", "cum_cas_B"),
    ("at_war", None),
    ("reserves_A", "reserves_A"),
    ("reserves_B", "reserves_B"),
    ("manpower_A", "manpower_A"),
    ("manpower_B", "manpower_B"),
    ("equipment_A", "equipment_A"),
    ("equipment_B", "equipment_B"),
    ("stability_A", "stability_A"),
    ("stability_B", "stability_B"),
)
"""Recorded trajectories (the NumPy engine's names) and the state variable each one is."""


ROLES = ("first", "rest")
"""The two compiled calls: ``first`` simulates a sample's first path block whole (the leaders' imagined
wars, their fitted rules, the true war, the bargaining range) and returns the rules too; ``rest``
simulates a later path block of the true war with the rules given (no range: NaN, as in NumPy)."""


@dataclass(frozen=True)
class _Plan:
    """Everything static about one compiled call (its cache key)."""

    config: RunConfig
    paths: int
    levers: tuple[Lever, ...]
    scenario_digest: str
    role: str = "first"

    @property
    def ranged(self) -> bool:
        """Whether the call records the monthly bargaining range (a sample's first path block only)."""
        return self.config.bargaining_range and self.role == "first"


BLOCK_PATHS = {"cpu": 2048}
"""Paths (samples x paths per sample) a compiled call simulates at most on each platform, unless a
single sample has more; any other platform (a GPU) gets :data:`GPU_BLOCK_PATHS`."""

GPU_BLOCK_PATHS = 1 << 20
"""Paths per call on a GPU: enough to fill it."""

PATH_BLOCK = {"cpu": 4096}
"""Paths of one sample simulated together at most, per platform (any other platform, a GPU, gets
:data:`GPU_PATH_BLOCK`); read at call time. A sample of more paths is simulated in path blocks of
this many paths (:func:`path_blocks`): the first block by the whole model, the leaders' rules fitted
on its imagined wars (this many imagined paths, as NumPy's ``engine.PATH_BLOCK``: the same 4,096 on
the CPU), then each later block ``b`` of the true war with those rules, its random numbers keyed by
``fold_in(sample's key, b)``. Memory then stays flat in paths, and a sample's numbers depend on its
seed, the configuration and its paths only."""

GPU_PATH_BLOCK = 1 << 20
"""Paths of one sample simulated together at most on a GPU."""

MAX_IN_FLIGHT = 4
"""Compiled calls queued at most behind the one being read back: the device holds the outputs of at
most this many calls and one more, however many paths a run has."""


def path_block(platform: str | None = None) -> int:
    """Paths of one sample simulated together at most (:data:`PATH_BLOCK`) on ``platform`` (default:
    JAX's default backend)."""
    return PATH_BLOCK.get(platform or jax.default_backend(), GPU_PATH_BLOCK)


def path_blocks(paths: int, platform: str | None = None) -> list[tuple[int, int]]:
    """The ``(first, end)`` paths of each path block of a sample of ``paths`` paths: one block when
    ``paths <= path_block()``."""
    block = path_block(platform)
    return [(lo, min(lo + block, paths)) for lo in range(0, paths, block)]


def samples_per_block(paths: int, platform: str | None = None) -> int:
    """Samples per compiled call: a power of two, fixed by ``paths`` and the platform alone.

    Every call simulates this many samples (the last block padded by repeating its last sample), so
    a sample's numbers come out of the same compiled program whatever the number of samples asked
    for or their chunking: XLA may round an operation differently in a program of another shape (a
    last bit, seen in the bargaining range at 2 against 32 samples). It also means one compilation
    per configuration and paths per sample.
    """
    target = BLOCK_PATHS.get(platform or jax.default_backend(), GPU_BLOCK_PATHS)
    block = max(1, target // max(paths, 1))
    return 1 << (block.bit_length() - 1)


# ------------------------------------------------------------------------------------- noise


def _streams(key_data: Array) -> tuple[Array, Array]:
    """A stream's key for its lever draws and its key for the months."""
    lever_key, months_key = jax.random.split(jax.random.wrap_key_data(key_data, impl="threefry2x32"))
    return lever_key, months_key


NORMALS_DTYPE = jnp.float32
"""Precision in which the month's normals are drawn (then widened to float64): JAX's float64 normals
(the inverse error function of a 64-bit uniform) cost about 8 times its float32 ones on a CPU and were
most of the war's step. A float32 normal is ``sqrt(2) erfinv(u)`` of a uniform with 2^23 levels: the
same distribution to 1e-7 in probability, its tails cut at ``|z| ~ 5.3`` (probability 1e-7). The
uniforms stay float64 (cheap, and compared with small monthly probabilities)."""


def _month_noise(months_key: Array, t: Array, paths: int) -> tuple[Array, Array]:
    """Normals ``(paths, 5)`` and uniforms ``(paths, 5)`` of month ``t`` (float64)."""
    kz, ku = jax.random.split(jax.random.fold_in(months_key, t))
    z = jax.random.normal(kz, (paths, N_NORMAL), dtype=NORMALS_DTYPE).astype(jnp.float64)
    u = jax.random.uniform(ku, (paths, N_UNIFORM), dtype=jnp.float64)
    return z, u


def _apply_levers(
    values: Mapping[str, Array], lever_u: Array, levers: tuple[Lever, ...], intensity: Array
) -> dict[str, Array]:
    """Parameters with the levers applied on the paths where each is carried out (``sampling.apply_levers``);
    ``intensity`` ``(levers,)``, a lever at 0 leaves its target as it is."""
    out = dict(values)
    for j, (lever_id, target, effect, low, high) in enumerate(levers):
        x = intensity[j]
        carried = (lever_u[:, j] < values[f"levers.{lever_id}.credibility"]) & (x != 0.0)
        per_unit = values[f"levers.{lever_id}.per_unit"]
        base = out[target]
        changed = base + per_unit * x if effect == "add" else base * (1.0 + per_unit * x)
        out[target] = jnp.where(carried, jnp.clip(changed, low, high), base)
    return out


def _world(
    values: Mapping[str, Array],
    key_data: Array,
    plan: _Plan,
    objectives: tuple[str, ...],
    intensity: Array,
    bias: Any = None,
) -> tuple[World, Array]:
    """The world of one stream (its lever draws applied) and the stream's key for the months."""
    lever_key, months_key = _streams(key_data)
    lever_u = jax.random.uniform(lever_key, (plan.paths, len(plan.levers)), dtype=jnp.float64)
    p = _apply_levers(values, lever_u, plan.levers, intensity)
    return World(p, values, objectives, plan.paths, bias), months_key


# ------------------------------------------------------------------------------------ leaders


def _features(
    world: World, x: State, side: str, val: Valuation, v_battle: Array, log_rho: Array, peace_here: Array
) -> Array:
    """``(paths, 5)`` regressors of a leader's continuation value (``decision.features``); ``peace_here`` is
    the value of peace at the battlefield's victory score ``v_battle``."""
    cover = x[f"reserves_{side}"] / jnp.maximum(world.spend0[side], 1e-12)
    cover = jnp.broadcast_to(cover, val.stay.shape)
    return jnp.stack([val.stay, peace_here, v_battle, log_rho, cover], axis=1)


@dataclass(frozen=True)
class _Rule:
    """One leader's fitted rules, incumbent ``[0]`` and successor ``[1]``: coefficients ``(2, T+1, k)``
    and the regressors' range in training ``(2, T+1, d)``."""

    coefficients: Array
    low: Array
    high: Array
    degree: int

    def continuation(self, t: Array, feats: Array, successor: Array) -> Array:
        """``(paths,)`` continuation value at month ``t``, regressors clipped to their training range."""
        values = []
        for g in range(2):
            x = jnp.clip(feats, self.low[g, t], self.high[g, t])
            values.append(lsm.combine(lsm.polynomial_columns(x, self.degree), self.coefficients[g, t]))
        return jnp.where(successor, values[1], values[0])


Problem = tuple[Array, Array, Array, Array, Array]
"""A leader's stopping problem on the paths of his imagined war, for an incumbent and a successor
(axis of 2): regressors ``(T+1, 2, paths, d)``, stop ``(T+1, 2, paths)``, flow and discount
``(T, 2, paths)``, terminal value ``(2, paths)``."""


def _imagined_problem(
    side: str,
    values: Mapping[str, Array],
    key_data: Array,
    knobs: Mapping[str, Array],
    st: Structure,
    plan: _Plan,
    objectives: tuple[str, ...],
) -> Problem:
    """Simulate leader ``side``'s imagined war (no deal): his stopping problem as an incumbent and as a
    successor (``decision.imagined_paths``)."""
    cfg = plan.config
    n, horizon = plan.paths, cfg.horizon
    biased = knobs["biased"]
    optimism = values[f"leaders.{side}.optimism"] * biased
    world, months_key = _world(values, key_data, plan, objectives, knobs["intensity"], {side: optimism})
    j = other(side)
    sd, sdj = world.sides[side], world.sides[j]
    doubt = sd.belief("resolve_doubt") * biased
    types = (jnp.zeros(n, dtype=bool), jnp.ones(n, dtype=bool))
    available_from = jnp.asarray(st.available_from)

    def observe(x: State, other_successor: Array, t: Array) -> tuple[Array, ...]:
        progress = world.progress(x)
        available = available_from <= t
        log_i, log_j = world.state_log(x, side), world.state_log(x, j)
        vb_j = victory_battlefield(st, j, progress, sdj)
        # the doubt raises the other's hazard at war only: his staying power, not his peace
        val_j = Valuation.of(sdj, other_successor, log_j + doubt, world.peace_log(x, j, log_j), vb_j, None)
        vb_i, v_i = victory_battlefield(st, side, progress, sd), victory(st, side, progress, sd)
        vals = [Valuation.of(sd, succ, log_i, world.peace_log(x, side, log_i), vb_i, None) for succ in types]
        # every value of peace of the month in one evaluation of the series
        peace_j, *peace = peace_values(
            [(val_j, victory(st, j, progress, sdj))]
            + [(v, s) for val in vals for v, s in ((val, v_i), (val, vb_i[:, None]))],
            SAMPLES_AXIS,
        )
        accepted = (peace_j >= val_j.stay[:, None]) & available[None, :]
        log_rho = world.log_power_ratio(x, side)
        feats, stop, flow, discount, stay = [], [], [], [], []
        for g, val in enumerate(vals):
            peace_now, peace_here = peace[2 * g], peace[2 * g + 1][:, 0]
            feats.append(_features(world, x, side, val, vb_i, log_rho, peace_here))
            best = jnp.max(jnp.where(accepted, peace_now, -jnp.inf), axis=1, initial=-jnp.inf)
            stop.append(jnp.where(jnp.isfinite(best), best, jnp.nan))
            flow.append(val.war_cashflow)
            discount.append(val.war_discount)
            stay.append(val.stay)
        stacked = (jnp.stack(a) for a in (feats, stop, flow, discount, stay))
        return (*stacked, val_j.rate_war)

    war, no_relief = jnp.ones(n, dtype=bool), jnp.zeros(n)
    j_index = SIDES.index(j)

    def month(carry: tuple[State, Array], t: Array) -> tuple[tuple[State, Array], tuple[Array, ...]]:
        x, other_successor = carry
        feats, stop, flow, discount, stay, rate_j = observe(x, other_successor, t)
        z, u = _month_noise(months_key, t, n)
        x = world.step(x, z, u, war, no_relief)
        other_successor = other_successor | (u[:, U_REMOVE_A + j_index] < K.probability(rate_j))
        return (x, other_successor), (feats, stop, flow, discount, stay)

    # months 0 .. T observed in one loop (one copy of the month to compile): the step after the
    # horizon's observation is not used
    start = (world.start(), jnp.zeros(n, dtype=bool))
    _, (feats, stop, flow, discount, stay) = lax.scan(month, start, jnp.arange(horizon + 1))
    return feats, stop, flow[:horizon], discount[:horizon], stay[horizon]


def _fit_rules(problems: Mapping[str, Problem], degree: int) -> dict[str, dict[str, Array]]:
    """Each leader's incumbent and successor rules fitted on his stopping problems of every sample of
    the call (``decision.solve_rules``): ``coefficients`` ``(samples, 2, T+1, k)`` and the regressors'
    range in training ``low``, ``high`` ``(samples, 2, T+1, d)``.

    The ``samples x 2 leaders x 2 types`` fits are one function mapped over them (``lax.map``: one
    copy to compile, and each fit on its own, not under ``vmap``: see :func:`.jax.lsm.regress`).
    """

    def stacked(i: int) -> Array:  # (samples, leaders, types, ...) -> (samples * 4, ...), dates first
        return jnp.stack([jnp.swapaxes(problems[s][i], 1, 2) if i < 4 else problems[s][i] for s in SIDES], axis=1)

    feats, stop, flow, discount, terminal = (stacked(i) for i in range(5))
    samples, fits = feats.shape[0], feats.shape[0] * 4

    def one(problem: tuple[Array, ...]) -> Array:
        x, payoff, flow, discount, terminal = problem
        return lsm.fit(x, payoff, flow, discount, terminal, degree, RIDGE)

    flat = tuple(a.reshape(fits, *a.shape[3:]) for a in (feats, stop, flow, discount, terminal))
    coefficients = lax.map(one, flat).reshape(samples, len(SIDES), 2, *feats.shape[3:4], -1)
    out = {}
    for i, s in enumerate(SIDES):
        x = problems[s][0]  # (samples, T+1, 2, paths, d)
        out[s] = {
            "coefficients": coefficients[:, i],
            "low": x.min(axis=3).swapaxes(1, 2),
            "high": x.max(axis=3).swapaxes(1, 2),
        }
    return out


def _myopic_projection(
    world: World, x: State, st: Structure, optimism: Mapping[str, Array], lookahead: int
) -> dict[str, Array]:
    """``(paths, terms)`` victory scores a myopic leader projects ``lookahead`` months ahead, at the
    expected front's speed with his optimism."""
    power = world.power(x)
    rho = power["A"] / jnp.maximum(power["B"], 1e-12)
    out = {}
    for s in SIDES:
        belief = jnp.exp(optimism[s] * (1.0 if s == "A" else -1.0))
        expected_gain = world.mu * jnp.power(rho * belief, world.theta)
        gained = x["held"] - world.held0 + lookahead * expected_gain
        out[s] = victory(st, s, K.objective_progress(gained, world.obj_bounds), world.sides[s])
    return out


def _myopic_fight_value(
    val: Mapping[str, Valuation], later: Mapping[str, Array], available: Array, lookahead: int
) -> dict[str, Array]:
    """A myopic leader's value of fighting on (``engine._myopic_fight_value``): ``lookahead`` months at
    today's hazard, then the best deal the other side accepts today, valued at the victory score he
    projects (``later``: the value of peace at those scores), or else fighting on forever."""
    accepts = {}
    for s in SIDES:
        stay_then = val[s].fight_then(lookahead, val[s].stay)
        accepts[s] = (val[s].peace_now >= stay_then[:, None]) & available[None, :]
    out = {}
    for s, o in (("A", "B"), ("B", "A")):
        best_later = jnp.max(jnp.where(accepts[o], later[s], -jnp.inf), axis=1, initial=-jnp.inf)
        out[s] = val[s].fight_then(lookahead, jnp.maximum(val[s].stay, best_later))
    return out


# --------------------------------------------------------------------------------- the war


def _sample(
    key_data: Array,
    values: Mapping[str, Array],
    knobs: Mapping[str, Array],
    fitted: Mapping[str, Mapping[str, Array]] | None,
    st: Structure,
    plan: _Plan,
    objectives: tuple[str, ...],
    prior: float,
) -> dict[str, Array]:
    """Simulate one parameter sample's true war on ``plan.paths`` paths.

    ``key_data`` ``(3, 2)``: its streams' keys; ``knobs``: ``biased`` (1 when the leaders decide with
    the scenario's optimism and doubt, 0 with the true model) and the levers' ``intensity``, the same
    for every sample of the call; ``fitted``: each leader's rules (:func:`_fit_rules`) with the
    optimal policy, else None.
    """
    cfg = plan.config
    n, horizon, lookahead = plan.paths, cfg.horizon, cfg.lookahead
    optimism = {s: values[f"leaders.{s}.optimism"] * knobs["biased"] for s in SIDES}
    rules: dict[str, _Rule] | None = None
    if fitted is not None:
        rules = {s: _Rule(r["coefficients"], r["low"], r["high"], cfg.basis_degree) for s, r in fitted.items()}

    world, months_key = _world(values, key_data[TRUE_WORLD], plan, objectives, knobs["intensity"])
    p = world.p
    n_obj = len(objectives)
    available_from = jnp.asarray(st.available_from)
    guarantees = jnp.asarray(st.guarantees)
    relief_of = jnp.asarray(st.sanctions_relief)
    grid = jnp.asarray(RANGE_GRID)
    minus = jnp.full(n, -1, dtype=jnp.int64)
    e0: State = {
        "at_war": jnp.ones(n, dtype=bool),
        "terms_now": minus,
        "peace_start": minus,
        "broken": jnp.full(n, float(prior)),
        "settlements": jnp.zeros(n, dtype=jnp.int64),
        "breakdowns": jnp.zeros(n, dtype=jnp.int64),
        "first_month": minus,
        "first_terms": minus,
        "under_successor": jnp.zeros(n, dtype=bool),
        "held_end": jnp.full(n, jnp.nan),
        "progress_end": jnp.full((n, n_obj), jnp.nan),
        "cf_months": jnp.zeros(n, dtype=jnp.int64),
        "cf_broke": jnp.zeros(n, dtype=bool),
        "cf_rate": jnp.full(n, jnp.nan),
    }
    for s in SIDES:
        e0[f"successor_{s}"] = jnp.zeros(n, dtype=bool)
        e0[f"removed_{s}"] = jnp.zeros(n, dtype=bool)
        e0[f"removal_month_{s}"] = minus
        e0[f"cas_to_settle_{s}"] = jnp.zeros(n)
        e0[f"victory_now_{s}"] = jnp.zeros(n)

    def trajectory(x: State, at_war: Array) -> dict[str, Array]:
        return {name: (at_war.astype(jnp.float64) if var is None else x[var]) for name, var in TRAJECTORIES}

    def decide(t: Array, x: State, e: State, rows: dict[str, Array]) -> State:
        """1. Each leader values the terms against fighting on; both sign the best acceptable terms."""
        e = dict(e)
        progress = world.progress(x)
        available = available_from <= t
        at_war = e["at_war"]
        val: dict[str, Valuation] = {}
        v_battle, v_terms, fight_on = {}, {}, {}
        for s in SIDES:
            sd = world.sides[s]
            slog = world.state_log(x, s)
            v_battle[s] = victory_battlefield(st, s, progress, sd)
            v_terms[s] = victory(st, s, progress, sd)
            val[s] = Valuation.of(sd, e[f"successor_{s}"], slog, world.peace_log(x, s, slog), v_battle[s], None)
        # every value of peace of the month in one evaluation of the series: the terms on the table,
        # then the battlefield's score (optimal) or the projected terms (myopic), then the range's grid
        requests = [(val[s], v_terms[s]) for s in SIDES]
        if rules is not None:
            requests += [(val[s], v_battle[s][:, None]) for s in SIDES]
        else:
            projected = _myopic_projection(world, x, st, optimism, lookahead)
            requests += [(val[s], projected[s]) for s in SIDES]
        if plan.ranged:
            requests += [(val[s], jnp.broadcast_to(grid, (n, grid.size))) for s in SIDES]
        kinds = [(kind, s) for kind in ("now", "more", "grid") for s in SIDES][: len(requests)]
        peace = dict(zip(kinds, peace_values(requests, SAMPLES_AXIS), strict=True))
        for s in SIDES:
            val[s] = replace(val[s], peace_now=peace["now", s])
            if rules is not None:
                believed = world.log_power_ratio(x, s) + optimism[s]
                feats = _features(world, x, s, val[s], v_battle[s], believed, peace["more", s][:, 0])
                cont = rules[s].continuation(t, feats, e[f"successor_{s}"])
                # months at which his imagined war never offered a deal leave no fitted rule:
                # he then values fighting on as fighting forever at today's hazard
                fight_on[s] = jnp.where(jnp.isnan(cont), val[s].stay, cont)
        if rules is None:
            fight_on = _myopic_fight_value(val, {s: peace["more", s] for s in SIDES}, available, lookahead)
        gains = {s: val[s].peace_now - fight_on[s][:, None] for s in SIDES}
        if cfg.record:
            for s in SIDES:
                for j, term in enumerate(st.terms):
                    rows[f"gain_{s}_{term}"] = jnp.where(at_war, gains[s][:, j], jnp.nan)
        if plan.ranged:
            res = {s: K.reservation_score(peace["grid", s], grid, fight_on[s]) for s in SIDES}
            low, high = K.bargaining_range(
                res["A"], stake_shift(st, "A", world.sides["A"]), res["B"], stake_shift(st, "B", world.sides["B"])
            )
            rows["range_low"] = jnp.where(at_war, low, jnp.nan)
            rows["range_high"] = jnp.where(at_war, high, jnp.nan)
        choice = K.choose_terms(gains["A"], gains["B"], available)
        signs = at_war & (choice >= 0)
        k = jnp.maximum(choice, 0)
        first = signs & (e["first_month"] < 0)
        e["at_war"] = at_war & ~signs
        e["terms_now"] = jnp.where(signs, choice, e["terms_now"])
        e["peace_start"] = jnp.where(signs, t, e["peace_start"])
        e["settlements"] = e["settlements"] + signs
        e["first_month"] = jnp.where(first, t, e["first_month"])
        e["first_terms"] = jnp.where(first, choice, e["first_terms"])
        e["under_successor"] = jnp.where(first, e["successor_A"] | e["successor_B"], e["under_successor"])
        rate = K.breakdown_probability(
            p["ceasefire.breakdown"],
            guarantees[k],
            p["ceasefire.guarantee_factor"],
            p["ceasefire.record_factor"],
            e["broken"],
        )
        e["cf_rate"] = jnp.where(first, rate, e["cf_rate"])
        for s in SIDES:
            e[f"cas_to_settle_{s}"] = jnp.where(first, x[f"cum_cas_{s}"], e[f"cas_to_settle_{s}"])
        e["held_end"] = jnp.where(first, x["held"], e["held_end"])
        e["progress_end"] = jnp.where(first[:, None], progress, e["progress_end"])
        for s in SIDES:
            chosen = jnp.take_along_axis(v_terms[s], k[:, None], axis=1)[:, 0]
            now = jnp.where(at_war, v_battle[s], e[f"victory_now_{s}"])
            e[f"victory_now_{s}"] = jnp.where(signs, chosen, now)
        return e

    def leaders(t: Array, x: State, e: State, u: Array) -> State:
        """3. Each leader may lose office; a successor takes over."""
        e = dict(e)
        since = jnp.maximum(t - e["peace_start"], 0)
        for i, s in enumerate(SIDES):
            sd = world.sides[s]
            successor = e[f"successor_{s}"]
            rate0 = sd.rate0(successor)
            slog = world.state_log(x, s)
            war_rate = K.war_rate(rate0, slog)
            shock_total = jnp.zeros(n)
            for r in TRANSITION_REASONS:
                shock_total = shock_total + sd.reason(r, successor)
            shock = K.transition_shock(shock_total, e[f"victory_now_{s}"], sd.ld("victory_relief")) * jnp.exp(
                -since / sd.ld("shock_months")
            )
            peace_rate = K.peace_base_rate(rate0, slog, sd.reason("legitimacy", successor)) + shock
            h = K.probability(jnp.where(e["at_war"], war_rate, peace_rate))
            out = u[:, U_REMOVE_A + i] < h
            e[f"removal_month_{s}"] = jnp.where(out & ~e[f"removed_{s}"], t, e[f"removal_month_{s}"])
            e[f"removed_{s}"] = e[f"removed_{s}"] | out
            e[f"successor_{s}"] = successor | out
        return e

    def ceasefires(x: State, e: State, u: Array) -> tuple[State, State]:
        """4. Ceasefires may break down; the war resumes from the state of that moment."""
        e, x = dict(e), dict(x)
        in_peace = ~e["at_war"]
        k_now = jnp.maximum(e["terms_now"], 0)
        p_break = K.breakdown_probability(
            p["ceasefire.breakdown"],
            guarantees[k_now],
            p["ceasefire.guarantee_factor"],
            p["ceasefire.record_factor"],
            e["broken"],
        )
        breaks = in_peace & (u[:, U_BREAK] < p_break)
        first_peace = in_peace & (e["settlements"] == 1)
        e["cf_months"] = jnp.where(first_peace & ~e["cf_broke"], e["cf_months"] + 1, e["cf_months"])
        e["cf_broke"] = e["cf_broke"] | (breaks & (e["settlements"] == 1))
        e["at_war"] = e["at_war"] | breaks
        e["breakdowns"] = e["breakdowns"] + breaks
        e["broken"] = e["broken"] + breaks
        e["terms_now"] = jnp.where(breaks, -1, e["terms_now"])
        for s in SIDES:  # the war resumes at the start's intensity, not at peace's zero
            x[f"casualty_ratio_{s}"] = jnp.where(breaks, 1.0, x[f"casualty_ratio_{s}"])
        return x, e

    def month(carry: tuple[State, State], t: Array) -> tuple[tuple[State, State], dict[str, Array]]:
        x, e = carry
        rows: dict[str, Array] = {}
        if plan.ranged:
            rows["at_war_decision"] = e["at_war"]
            rows["range_low"] = rows["range_high"] = jnp.full(n, jnp.nan)
        if cfg.record:
            for s in SIDES:
                for term in st.terms:
                    rows[f"gain_{s}_{term}"] = jnp.full(n, jnp.nan)
        if cfg.allow_settlement:
            e = decide(t, x, e, rows)
        z, u = _month_noise(months_key, t, n)
        relief = jnp.where(e["at_war"], 0.0, relief_of[jnp.maximum(e["terms_now"], 0)])
        x = world.step(x, z, u, e["at_war"], relief)
        e = leaders(t, x, e, u)
        x, e = ceasefires(x, e, u)
        if cfg.record:
            rows.update(trajectory(x, e["at_war"]))
        return (x, e), rows

    x0 = world.start()
    (x, e), rows = lax.scan(month, (x0, e0), jnp.arange(horizon))
    never = e["first_month"] < 0
    out = {
        "first_settlement": e["first_month"],
        "first_terms": e["first_terms"],
        "under_successor": e["under_successor"],
        "held_at_end": jnp.where(never, x["held"], e["held_end"]),
        "objectives_taken": jnp.where(never[:, None], world.progress(x), e["progress_end"]),
        "ceasefire_months": e["cf_months"],
        "ceasefire_broke": e["cf_broke"],
        "ceasefire_break_rate": e["cf_rate"],
        "settlements": e["settlements"],
        "breakdowns": e["breakdowns"],
        "at_war_at_end": e["at_war"],
    }
    for s in SIDES:
        out[f"casualties_to_settlement_{s}"] = jnp.where(never, x[f"cum_cas_{s}"], e[f"cas_to_settle_{s}"])
        out[f"casualties_total_{s}"] = x[f"cum_cas_{s}"]
        out[f"removed_{s}"] = e[f"removed_{s}"]
        out[f"removal_month_{s}"] = e[f"removal_month_{s}"]
    for name, row in rows.items():
        out[f"rows.{name}"] = row
    if cfg.record:
        for name, row in trajectory(x0, jnp.ones(n, dtype=bool)).items():
            out[f"start.{name}"] = row
    return out


# ------------------------------------------------------------------------------- the call

Outputs = dict[str, Array]
Fitted = dict[str, dict[str, Array]] | None
_COMPILED: dict[_Plan, Callable[..., Any]] = {}
_MAX_COMPILED = 16


def block_key(key_data: Array, block: Array) -> Array:
    """The true war's key data ``(2,)`` of path block ``block >= 1`` of a sample: ``fold_in`` of the
    sample's own key (block 0 uses the sample's key itself)."""
    key = jax.random.wrap_key_data(key_data, impl="threefry2x32")
    return jax.random.key_data(jax.random.fold_in(key, block))


def _compiled(plan: _Plan, scenario: Scenario) -> Callable[..., Any]:
    """The jitted call of one block of samples for ``plan`` (kept for reuse in the process).

    ``first``: ``(key_data, values, knobs) -> (outputs, fitted rules or None)``; ``rest``:
    ``(key_data, block, values, fitted, knobs) -> outputs``, every argument but ``knobs`` per unit.
    """
    if plan not in _COMPILED:
        st = Structure.from_scenario(scenario)
        objectives = tuple(o.id for o in scenario.objectives)
        prior = float(scenario.ceasefire.prior_broken)

        cfg = plan.config
        optimal = cfg.policy == "optimal" and cfg.allow_settlement

        def problems(key_data: Array, values: Mapping[str, Array], knobs: Mapping[str, Array]) -> dict[str, Problem]:
            return {s: _imagined_problem(s, values, key_data[IMAGINED[s]], knobs, st, plan, objectives) for s in SIDES}

        def war(key_data: Array, values: Mapping[str, Array], fitted: Fitted, knobs: Mapping[str, Array]) -> Outputs:
            return _sample(key_data, values, knobs, fitted, st, plan, objectives, prior)

        def first(key_data: Array, values: Mapping[str, Array], knobs: Mapping[str, Array]) -> tuple[Outputs, Fitted]:
            # the leaders' imagined wars (vmap over samples), their fits (one sample at a time: a
            # sample's least squares then round alike whatever the call's size), the true war (vmap)
            fitted = None
            if optimal:
                imagined = jax.vmap(problems, in_axes=(0, 0, None), axis_name=SAMPLES_AXIS)(key_data, values, knobs)
                fitted = _fit_rules(imagined, cfg.basis_degree)
            out = jax.vmap(war, in_axes=(0, 0, 0, None), axis_name=SAMPLES_AXIS)(key_data, values, fitted, knobs)
            return out, fitted

        def rest_one(
            key_data: Array, block: Array, values: Mapping[str, Array], fitted: Fitted, knobs: Mapping[str, Array]
        ) -> Outputs:
            keys = key_data.at[TRUE_WORLD].set(block_key(key_data[TRUE_WORLD], block))
            return war(keys, values, fitted, knobs)

        def rest(
            key_data: Array, block: Array, values: Mapping[str, Array], fitted: Fitted, knobs: Mapping[str, Array]
        ) -> Outputs:
            one = jax.vmap(rest_one, in_axes=(0, 0, 0, 0, None), axis_name=SAMPLES_AXIS)
            return one(key_data, block, values, fitted, knobs)

        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[plan] = jax.jit(first if plan.role == "first" else rest)
    return _COMPILED[plan]


def plan_for(
    scenario: Scenario,
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    role: str = "first",
) -> _Plan:
    """The static description of a call (what compiles): the config, sizes, levers, the scenario's
    digest and the call's role (:data:`ROLES`); the beliefs and the levers' intensities are inputs of
    the call, not part of it."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}' (roles: {', '.join(ROLES)})")
    intensity_of(scenario, lever_intensity)
    levers: list[Lever] = []
    for lv in scenario.levers:
        low, high = param_domain(scenario, lv.target)
        levers.append((lv.id, lv.target, lv.effect, float(low), float(high)))
    digest = hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
    config = replace(config, backend="jax", beliefs="scenario")
    return _Plan(config=config, paths=paths, levers=tuple(levers), scenario_digest=digest, role=role)


def intensity_of(scenario: Scenario, lever_intensity: Mapping[str, float] | None) -> np.ndarray:
    """``(levers,)`` intensity of each of the scenario's levers (0 where not given)."""
    intensities = dict(lever_intensity or {})
    for lever_id, x in intensities.items():
        if np.ndim(x) != 0:
            raise ValueError(f"lever '{lever_id}': the JAX backend takes one intensity per call, got an array")
    return np.array([float(intensities.get(lv.id, 0.0)) for lv in scenario.levers], dtype=np.float64)


def key_data(seeds: Sequence[np.random.SeedSequence]) -> np.ndarray:
    """``(samples, 3, 2)`` threefry keys: per sample, its true war's and each leader's imagined war's."""
    streams = (TRUE_WORLD, IMAGINED["A"], IMAGINED["B"])
    return np.array([[child(seed, j).generate_state(2, dtype=np.uint32) for j in streams] for seed in seeds])


def _per_sample(params: Mapping[str, np.ndarray], samples: int, paths: int) -> dict[str, np.ndarray]:
    """Per-path parameters ``(samples * paths,)`` as ``(samples,)`` where constant over a sample's paths,
    else ``(samples, paths)``."""
    out = {}
    for key, value in params.items():
        a = np.asarray(value, dtype=np.float64).reshape(samples, paths)
        same = (a == a[:, :1]) | (np.isnan(a) & np.isnan(a[:, :1]))
        out[key] = a[:, 0].copy() if same.all() else a
    return out


def simulate(
    scenario: Scenario,
    params: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    sample_offset: int = 0,
) -> Outcomes:
    """Simulate ``len(seeds)`` outer samples of ``paths`` paths each, in JAX.

    The signature and the result are those of :func:`ceasefire.model.engine.simulate`: ``params``
    are per-path arrays ``(len(seeds) * paths,)`` without the levers applied, one seed per sample.
    """
    samples = len(seeds)
    if samples == 0:
        raise ValueError("simulate needs at least one sample seed")
    values = _per_sample(params, samples, paths)
    return simulate_samples(scenario, values, seeds, paths, config, lever_intensity, sample_offset)


@dataclass(frozen=True)
class _Piece:
    """Where the outputs of a call's units ``unit ..`` go: samples ``sample_lo:sample_hi`` (one unit each),
    their paths ``lo:hi`` (a unit's first ``hi - lo`` paths)."""

    unit: int
    sample_lo: int
    sample_hi: int
    lo: int
    hi: int


@dataclass
class _Calls:
    """A run's compiled calls: each a function, its arguments, and where its output goes."""

    first: Callable[..., Any]
    rest: Callable[..., Any] | None
    first_args: list[tuple[Any, ...]]
    first_pieces: list[list[_Piece]]
    rest_units: list[tuple[int, int]]  # (sample, block >= 1)
    units_per_call: int
    width: int  # paths of a path block (all of a sample's when it is one block)
    knobs: dict[str, Array]


def simulate_samples(
    scenario: Scenario,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    sample_offset: int = 0,
) -> Outcomes:
    """:func:`simulate` from per-sample parameters: ``values[key]`` is ``(samples,)`` (the same on every
    path of a sample) or ``(samples, paths)``; nothing is repeated per path on the host.

    A sample of at most :func:`path_block` paths is simulated whole; a larger one in path blocks (see
    :data:`PATH_BLOCK`). Calls simulate :func:`samples_per_block` samples (or path blocks of samples)
    each, the last padded by repeating its last one: one compiled program per configuration and paths
    (two for samples of several path blocks), and a sample's numbers do not depend on the others in a
    call or on how the samples are chunked. At most :data:`MAX_IN_FLIGHT` calls are dispatched ahead
    of the one read back, each call's outputs copied into the result's arrays: the device's memory
    stays flat in paths, the host's is the per-path outputs.
    """
    samples = len(seeds)
    with jax.enable_x64(True):
        calls = _calls(scenario, values, seeds, paths, config, lever_intensity)
        gather = _Gather(samples, paths, calls.width, config)
        pending: deque[tuple[Outputs, list[_Piece]]] = deque()

        def dispatch(out: Outputs, pieces: list[_Piece]) -> None:
            pending.append((out, pieces))
            while len(pending) > MAX_IN_FLIGHT:
                gather.add(*pending.popleft())

        rules: list[Fitted] = []
        for args, pieces in zip(calls.first_args, calls.first_pieces, strict=True):
            out, fitted = calls.first(*args)
            rules.append(fitted)
            dispatch(out, pieces)
        if calls.rest is not None:
            fitted_all = None if rules[0] is None else jax.tree.map(lambda *a: jnp.concatenate(a), *rules)
            for args, pieces in _rest_args(calls, values, seeds, paths, fitted_all):
                dispatch(calls.rest(*args), pieces)
        while pending:
            gather.add(*pending.popleft())
    return gather.outcomes(sample_offset)


def lower(
    scenario: Scenario,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
) -> Any:
    """The lowered (not yet compiled) call of one block of :func:`simulate_samples` (its first
    :func:`samples_per_block` samples, their first path block): ``.compile()``, ``.cost_analysis()``."""
    with jax.enable_x64(True):
        calls = _calls(scenario, values, seeds, paths, config, lever_intensity)
        return calls.first.lower(*calls.first_args[0])  # type: ignore[attr-defined]


def _knobs(scenario: Scenario, config: RunConfig, lever_intensity: Mapping[str, float] | None) -> dict[str, Array]:
    return {
        "biased": jnp.asarray(1.0 if config.beliefs == "scenario" else 0.0),
        "intensity": jnp.asarray(intensity_of(scenario, lever_intensity), dtype=jnp.float64),
    }


def _paths_of(value: np.ndarray, lo: int, width: int) -> np.ndarray:
    """Paths ``lo .. lo + width`` of per-path parameters ``(units, paths)``, the last path repeated past
    the end (a sample's last path block may be short)."""
    part = value[:, lo : lo + width]
    if part.shape[1] < width:
        part = np.concatenate([part, np.repeat(part[:, -1:], width - part.shape[1], axis=1)], axis=1)
    return part


def _calls(
    scenario: Scenario,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None,
) -> _Calls:
    """The compiled calls of a run (64-bit on): the first path block of every sample, :func:`samples_per_block`
    samples a call (the last call padded by repeating the last sample), then the later path blocks."""
    if config.policy not in POLICIES:
        raise ValueError(f"unknown policy '{config.policy}' (policies: {', '.join(POLICIES)})")
    if config.beliefs not in BELIEFS:
        raise ValueError(f"unknown beliefs '{config.beliefs}' (beliefs: {', '.join(BELIEFS)})")
    samples = len(seeds)
    if samples == 0:
        raise ValueError("simulate needs at least one sample seed")
    if paths < 1:
        raise ValueError(f"paths must be at least 1, got {paths}")
    width = min(paths, path_block())
    blocks = -(-paths // width)
    per_call = samples_per_block(width)
    rows = np.minimum(np.arange(-(-samples // per_call) * per_call), samples - 1)
    keys = key_data(seeds)[rows]
    padded = {}
    for k, v in values.items():
        a = np.asarray(v, dtype=np.float64)[rows]
        padded[k] = _paths_of(a, 0, width) if a.ndim == 2 else a
    knobs = _knobs(scenario, config, lever_intensity)
    first_args, first_pieces = [], []
    for lo in range(0, rows.size, per_call):
        part = {k: jnp.asarray(v[lo : lo + per_call]) for k, v in padded.items()}
        first_args.append((jnp.asarray(keys[lo : lo + per_call]), part, knobs))
        first_pieces.append([_Piece(0, lo, min(lo + per_call, samples), 0, width)])
    fn = _compiled(plan_for(scenario, width, config, lever_intensity), scenario)
    rest = None
    if blocks > 1:
        rest = _compiled(plan_for(scenario, width, config, lever_intensity, role="rest"), scenario)
    units = [(i, b) for i in range(samples) for b in range(1, blocks)]
    return _Calls(fn, rest, first_args, first_pieces, units, per_call, width, knobs)


def _rest_args(
    calls: _Calls,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    fitted: Fitted,
) -> Iterator[tuple[tuple[Any, ...], list[_Piece]]]:
    """Arguments and output pieces of the calls of the later path blocks, :func:`samples_per_block`
    units (sample, block) a call, the last call padded by repeating its last unit (a generator: the
    host holds one call's arguments at a time)."""
    width, per_call, units = calls.width, calls.units_per_call, calls.rest_units
    keys = key_data(seeds)
    for lo in range(0, len(units), per_call):
        chunk = units[lo : lo + per_call]
        chunk = chunk + [chunk[-1]] * (per_call - len(chunk))
        who = np.array([i for i, _ in chunk], dtype=np.int64)
        block = np.array([b for _, b in chunk], dtype=np.int64)
        part = {}
        for k, v in values.items():
            a = np.asarray(v, dtype=np.float64)
            if a.ndim == 2:
                part[k] = jnp.asarray(np.stack([_paths_of(a[i : i + 1], b * width, width)[0] for i, b in chunk]))
            else:
                part[k] = jnp.asarray(a[who])
        rules = None if fitted is None else jax.tree.map(lambda r, who=who: r[who], fitted)
        pieces = [
            _Piece(u, i, i + 1, b * width, min((b + 1) * width, paths))
            for u, (i, b) in enumerate(units[lo : lo + per_call])
        ]
        yield (jnp.asarray(keys[who]), jnp.asarray(block), part, rules, calls.knobs), pieces


_RANGE_ROWS = ("range_low", "range_high", "at_war_decision")
"""The monthly rows of the bargaining range, recorded on each sample's first path block only."""


class _Gather:
    """The result's arrays on the host, laid out as :class:`Outcomes` wants them (per path
    ``(samples, paths, ...)``, per month ``(months, samples, paths)``; the bargaining range's rows
    ``(months, samples, width)``, a sample's first path block), filled call by call."""

    def __init__(self, samples: int, paths: int, width: int, config: RunConfig) -> None:
        self.samples, self.paths, self.width, self.config = samples, paths, width, config
        self.arrays: dict[str, np.ndarray] = {}

    def _target(self, name: str, value: np.ndarray) -> np.ndarray:
        if name not in self.arrays:
            if name.startswith("rows."):  # (units, T, paths, ...) -> (T, samples, paths, ...)
                paths = self.width if name[len("rows.") :] in _RANGE_ROWS else self.paths
                shape = (value.shape[1], self.samples, paths, *value.shape[3:])
            else:
                shape = (self.samples, self.paths, *value.shape[2:])
            self.arrays[name] = np.empty(shape, dtype=value.dtype)
        return self.arrays[name]

    def add(self, out: Outputs, pieces: list[_Piece]) -> None:
        """Copy a call's outputs (read back from the device) into place."""
        for name, device_value in out.items():
            value = np.asarray(device_value)
            target = self._target(name, value)
            for p in pieces:
                count, width = p.sample_hi - p.sample_lo, p.hi - p.lo
                if name.startswith("rows."):
                    got = value[p.unit : p.unit + count, :, :width]
                    target[:, p.sample_lo : p.sample_hi, p.lo : p.hi] = np.moveaxis(got, 0, 1)
                else:
                    target[p.sample_lo : p.sample_hi, p.lo : p.hi] = value[p.unit : p.unit + count, :width]

    def outcomes(self, offset: int) -> Outcomes:
        """The gathered per-path :class:`Outcomes`, the bargaining range on each sample's first path
        block (:attr:`Outcomes.monthly_paths`, as in NumPy)."""
        samples, paths, config, got = self.samples, self.paths, self.config, self.arrays
        n = samples * paths

        def flat(a: np.ndarray) -> np.ndarray:
            return a.reshape(n, *a.shape[2:])

        def months(name: str) -> np.ndarray:  # (T, samples, paths) -> (T, samples * paths)
            a = got[f"rows.{name}"]
            return a.reshape(a.shape[0], -1, *a.shape[3:])

        ranged = monthly_paths(samples, paths, config, self.width)
        monthly = {k: months(k) for k in _RANGE_ROWS} if config.bargaining_range else {}
        trajectories = {}
        if config.record:
            for name in sorted(k[len("rows.") :] for k in got if k.startswith("rows.")):
                if name in _RANGE_ROWS:
                    continue
                row = months(name)
                start = got.get(f"start.{name}")
                trajectories[name] = row if start is None else np.concatenate([flat(start)[None], row], axis=0)
        return Outcomes(
            sample=np.repeat(np.arange(samples, dtype=np.int64) + offset, paths),
            first_settlement=flat(got["first_settlement"]).astype(np.int64, copy=False),
            first_terms=flat(got["first_terms"]).astype(np.int64, copy=False),
            under_successor=flat(got["under_successor"]),
            casualties_to_settlement={s: flat(got[f"casualties_to_settlement_{s}"]) for s in SIDES},
            casualties_total={s: flat(got[f"casualties_total_{s}"]) for s in SIDES},
            held_at_end=flat(got["held_at_end"]),
            objectives_taken=flat(got["objectives_taken"]),
            removed={s: flat(got[f"removed_{s}"]) for s in SIDES},
            removal_month={s: flat(got[f"removal_month_{s}"]).astype(np.int64, copy=False) for s in SIDES},
            ceasefire_months=flat(got["ceasefire_months"]).astype(np.int64, copy=False),
            ceasefire_broke=flat(got["ceasefire_broke"]),
            ceasefire_break_rate=flat(got["ceasefire_break_rate"]),
            settlements=flat(got["settlements"]).astype(np.int64, copy=False),
            breakdowns=flat(got["breakdowns"]).astype(np.int64, copy=False),
            at_war_at_end=flat(got["at_war_at_end"]),
            monthly_paths=ranged,
            monthly=monthly,
            trajectories=trajectories,
        )


def state_bytes_per_path_step(config: RunConfig, n_terms: int, n_objectives: int) -> dict[str, int]:
    """Bytes of per-path state read and written per path-step (one month of one path) by an ideal kernel
    that keeps nothing but the month's carry in memory.

    The carry of the true war: its 18 float64 state variables (territory, oil price, and per side
    manpower, equipment, storage, reserves, stability, pain, casualty ratio, casualties) and the
    engine's bookkeeping (``10 + objectives + 6`` eight-byte numbers: terms, months, counters, the
    outcomes kept at the first deal; 7 one-byte flags), read once and written once a month. Written
    per month besides: the bargaining range (two float64 and the at-war flag) when it is kept, the
    trajectories and gains when recorded. The month's random numbers are made in the kernel (none
    read). With the ``optimal`` policy each leader's imagined war adds, per path-step, its own carry
    (18 float64 and a flag) read and written, and its stopping problem (5 regressors, stop, flow and
    discount, for an incumbent and a successor) written, then read back by the fit.
    """
    war = 18 * 8
    bookkeeping = (10 + n_objectives + 6) * 8 + 7
    carry = war + bookkeeping
    out = (2 * 8 + 1) if config.bargaining_range else 0
    if config.record:
        out += (len(TRAJECTORIES) + 2 * n_terms) * 8
    extra = 0
    if config.policy == "optimal" and config.allow_settlement:
        problem = 2 * (N_FEATURES + 3) * 8
        extra = 2 * (2 * (war + 1) + 2 * problem)
    return {"read": carry, "written": carry + out, "optimal_policy_extra": extra, "total": 2 * carry + out + extra}
