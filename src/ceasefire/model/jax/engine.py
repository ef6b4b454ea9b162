"""The war engine as jitted JAX calls: ``--backend jax``.

The same month as the NumPy engine (:func:`ceasefire.model.month.month`, the same functions), run under
``lax.scan`` over months, vectorized over the paths of a sample, and ``vmap`` over the parameter
samples of a block (a fixed number of samples per compiled call, :func:`samples_per_block`). With the
``optimal`` policy each leader's stopping rule is fitted on his imagined war first
(:func:`ceasefire.model.decision.problem_row` under ``lax.scan``), per sample, by ridge least squares in
JAX (:mod:`ceasefire.solve.jax_lsm`), the fits mapped one at a time (``lax.map``). Every value of peace
is summed by JAX's own kernel (:mod:`.peace`); the month's decision values every element on every path
(NumPy's fast path, :mod:`ceasefire.model.screen`, is NumPy's alone).

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

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from ceasefire.errors import CeasefireError

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise CeasefireError("the JAX backend needs jax: pip install 'ceasefire[jax]'") from exc

from ceasefire.model.backend import Backend
from ceasefire.model.decision import (
    N_FEATURES,
    RIDGE,
    Decision,
    Policy,
    Situation,
    decide,
    resume_probability,
    situation_of,
)
from ceasefire.model.engine import (
    EVENT_DRAWS,
    IMAGINED,
    TRUE_WORLD,
    Outcomes,
    RunConfig,
    check_config,
    child,
    final_outputs,
    monthly_paths,
    outcomes_from,
    war_setup,
)
from ceasefire.model.jax import peace
from ceasefire.model.month import TRAJECTORIES, MonthState, available, begin, month, on_table, trajectory
from ceasefire.model.params import SIDES, Array, Pair, Params, register_pytrees
from ceasefire.model.rules import imagined_month
from ceasefire.model.structure import Structure, params_from
from ceasefire.model.valuation import Exact
from ceasefire.model.war import N_NORMAL, N_UNIFORM, Observed, Setup, observe, start
from ceasefire.solve import jax_lsm

register_pytrees()

__all__ = [
    "PATH_BLOCK",
    "TRAJECTORIES",
    "lower",
    "path_block",
    "path_blocks",
    "simulate_blocks",
    "state_bytes_per_path_step",
]

SAMPLES_AXIS = "samples"
"""The name of the call's axis of samples (``vmap``)."""
BACKEND: Backend = partial(peace.peace_values, axis_name=SAMPLES_AXIS)
"""JAX's value of peace; under ``vmap`` over samples the rare slow branch of the series is
decided once for the whole call."""
EXACT = Exact(BACKEND)

ROLES = ("first", "rest")
"""The two compiled calls: ``first`` simulates a sample's first path block whole (the leaders' imagined
wars, their fitted rules, the true war, the bargaining range) and returns the rules too; ``rest``
simulates a later path block of the true war with the rules given (no range: NaN, as in NumPy)."""


@dataclass(frozen=True)
class _Plan:
    """Everything static about one compiled call (its cache key)."""

    config: RunConfig
    paths: int
    structure: str
    """The structure's digest (:attr:`ceasefire.model.structure.Structure.digest`)."""
    role: str = "first"


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


def _world(
    params: Params, key_data: Array, st: Structure, paths: int, intensity: Array, bias: Pair[Array] | None = None
) -> tuple[Setup, Array]:
    """The start of one stream's war (:func:`ceasefire.model.engine.war_setup` of its lever draws; each
    event's uniforms drawn from the stream's key folded with :data:`ceasefire.model.engine.EVENT_DRAWS`,
    then with the event's index) and the stream's key for the months."""
    key = jax.random.wrap_key_data(key_data, impl="threefry2x32")
    lever_key, months_key = jax.random.split(key)
    lever_u = jax.random.uniform(lever_key, (paths, len(st.levers)), dtype=jnp.float64)
    event_u = None
    if st.events:  # event e's from its own key: its draws do not depend on the events after it
        event_key = jax.random.fold_in(key, EVENT_DRAWS)
        keys = [jax.random.fold_in(event_key, e) for e in range(len(st.events))]
        event_u = jnp.stack([jax.random.uniform(k, (paths,), dtype=jnp.float64) for k in keys], axis=-1)
    given = {lv.id: intensity[j] for j, lv in enumerate(st.levers)}
    return war_setup(st, params, given, lever_u, bias, event_u), months_key


# ------------------------------------------------------------------------------------ leaders


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
            values.append(jax_lsm.combine(jax_lsm.polynomial_columns(x, self.degree), self.coefficients[g, t]))
        return jnp.where(successor, values[1], values[0])


Problem = tuple[Array, Array, Array, Array, Array]
"""A leader's stopping problem on the paths of his imagined war, for an incumbent and a successor
(axis of 2): regressors ``(T+1, 2, paths, d)``, stop ``(T+1, 2, paths)``, flow and discount
``(T, 2, paths)``, terminal value ``(2, paths)``."""


def _biased(params: Params, knobs: Mapping[str, Array]) -> Pair[Array]:
    """Each leader's optimism as he decides with it (zero with the true model's beliefs)."""
    return Pair.of(lambda s: params.leaders[s].optimism * knobs["biased"])


def _imagined_problem(
    side: str, params: Params, key_data: Array, knobs: Mapping[str, Array], st: Structure, plan: _Plan
) -> Problem:
    """Simulate leader ``side``'s imagined war (no deal): his stopping problem as an incumbent and as a
    successor (:func:`ceasefire.model.decision.problem_row`, month by month)."""
    n, horizon = plan.paths, plan.config.decision_horizon
    optimism = _biased(params, knobs)[side]
    bias = Pair(optimism, 0.0) if side == "A" else Pair(0.0, optimism)
    w0, months_key = _world(params, key_data, st, n, knobs["intensity"], bias)
    doubt = w0.p.leaders[side].resolve_doubt * knobs["biased"]
    types = (jnp.zeros(n, dtype=bool), jnp.ones(n, dtype=bool))
    broken = jnp.full(n, float(st.prior_broken))

    def one(carry: tuple[Any, Array], t: Array) -> tuple[tuple[Any, Array], tuple[Array, ...]]:
        x, other_successor = carry
        noise = _month_noise(months_key, t, n)
        row, x, other_successor = imagined_month(
            w0, st, EXACT, side, x, other_successor, t, doubt, types, broken, noise
        )
        out = tuple(jnp.stack(a) for a in (row.feats, row.stop, row.flow, row.discount, row.stay))
        return (x, other_successor), out

    # months 0 .. T observed in one loop (one copy of the month to compile): the step after the
    # horizon's observation is not used
    _, (feats, stop, flow, discount, stay) = lax.scan(
        one, (start(w0, n), jnp.zeros(n, dtype=bool)), jnp.arange(horizon + 1)
    )
    return feats, stop, flow[:horizon], discount[:horizon], stay[horizon]


def _fit_rules(problems: Mapping[str, Problem], degree: int) -> dict[str, dict[str, Array]]:
    """Each leader's incumbent and successor rules fitted on his stopping problems of every sample of
    the call (``decision.solve_rules``): ``coefficients`` ``(samples, 2, T+1, k)`` and the regressors'
    range in training ``low``, ``high`` ``(samples, 2, T+1, d)``.

    The ``samples x 2 leaders x 2 types`` fits are one function mapped over them (``lax.map``: one
    copy to compile, and each fit on its own, not under ``vmap``: see :func:`ceasefire.solve.jax_lsm.regress`).
    """

    def stacked(i: int) -> Array:  # (samples, leaders, types, ...) -> (samples * 4, ...), dates first
        return jnp.stack([jnp.swapaxes(problems[s][i], 1, 2) if i < 4 else problems[s][i] for s in SIDES], axis=1)

    feats, stop, flow, discount, terminal = (stacked(i) for i in range(5))
    samples, fits = feats.shape[0], feats.shape[0] * 4

    def one(problem: tuple[Array, ...]) -> Array:
        x, payoff, flow, discount, terminal = problem
        return jax_lsm.fit(x, payoff, flow, discount, terminal, degree, RIDGE)

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


# --------------------------------------------------------------------------------- the war


def _sample(
    key_data: Array,
    params: Params,
    knobs: Mapping[str, Array],
    fitted: Mapping[str, Mapping[str, Array]] | None,
    st: Structure,
    plan: _Plan,
) -> dict[str, Array]:
    """Simulate one parameter sample's true war on ``plan.paths`` paths (:func:`ceasefire.model.month.month`
    under ``lax.scan``).

    ``key_data`` ``(3, 2)``: its streams' keys; ``knobs``: ``biased`` (1 when the leaders decide with
    the scenario's optimism and doubt, 0 with the true model) and the levers' ``intensity``, the same
    for every sample of the call; ``fitted``: each leader's rules (:func:`_fit_rules`) with the
    optimal policy, else None.
    """
    cfg, n = plan.config, plan.paths
    ranged = cfg.bargaining_range and plan.role == "first"  # the range of a sample's first path block only
    optimism = _biased(params, knobs)
    w, months_key = _world(params, key_data[TRUE_WORLD], st, n, knobs["intensity"])
    policy = Policy(cfg.policy, cfg.lookahead)
    if fitted is not None:
        rules = {s: _Rule(r["coefficients"], r["low"], r["high"], cfg.basis_degree) for s, r in fitted.items()}
        policy = Policy(
            "optimal", cfg.lookahead, lambda side, t, feats, succ, sample: rules[side].continuation(t, feats, succ)
        )

    def situation(w: Setup, s: MonthState, obs: Observed, table: Array) -> Situation:
        return situation_of(
            w, s.politics.successor, s.politics.broken, obs, optimism, jnp.zeros(n, dtype=jnp.int64), table
        )

    def decide_all(w: Setup, s: MonthState, obs: Observed, power: Pair[Array], t: Array) -> Decision:
        table = on_table(w, st, s.politics, obs.progress, t)
        return decide(st, BACKEND, policy, situation(w, s, obs, table), t, ranged=ranged, record=cfg.record)

    def resume_all(w: Setup, s: MonthState, obs: Observed, t: Array) -> Pair[Array]:
        pol = s.politics
        since = jnp.maximum(t - pol.peace_start, 0).astype(jnp.float64)
        table = available(st, pol, t)  # not read: every terms option in force may be resumed from
        return resume_probability(
            st, BACKEND, policy, situation(w, s, obs, table), t, since, jnp.maximum(pol.terms_now, 0),
            pol.victory_now, pol.attainment_now, pol.audience,
        )  # fmt: skip

    settling = (decide_all, resume_all) if cfg.allow_settlement else (None, None)

    def one(s: MonthState, t: Array) -> tuple[MonthState, dict[str, Array]]:
        rows: dict[str, Array] = {}
        at_war = s.politics.at_war
        if ranged:
            rows["at_war_decision"] = at_war
        z, u = _month_noise(months_key, t, n)
        s, d = month(w, st, s, t, z, u, *settling)
        if ranged:
            nan = jnp.full(n, jnp.nan)
            low = nan if d is None or d.range_low is None else d.range_low
            high = nan if d is None or d.range_high is None else d.range_high
            rows["range_low"] = jnp.where(at_war, low, jnp.nan)
            rows["range_high"] = jnp.where(at_war, high, jnp.nan)
            on_table = jnp.zeros(n, dtype=bool) if d is None else d.acceptable.any(axis=1)
            rows["range_on_table"] = jnp.where(at_war & ~jnp.isnan(low), on_table.astype(jnp.float64), jnp.nan)
        if cfg.record:
            for side in SIDES:
                for j, term in enumerate(st.terms):
                    gains = None if d is None else d.gains
                    rows[f"gain_{side}_{term}"] = (
                        jnp.full(n, jnp.nan) if gains is None else jnp.where(at_war, gains[side][:, j], jnp.nan)
                    )
            rows.update(trajectory(s))
        return s, rows

    s0 = begin(w, st, n)
    s, rows = lax.scan(one, s0, jnp.arange(cfg.horizon))
    out = final_outputs(s, observe(w, s.war).progress)
    for name, row in rows.items():
        out[f"rows.{name}"] = row
    if cfg.record:
        for name, row in trajectory(s0).items():
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


def _compiled(plan: _Plan, st: Structure) -> Callable[..., Any]:
    """The jitted call of one block of samples for ``plan`` (kept for reuse in the process).

    ``first``: ``(key_data, values, knobs) -> (outputs, fitted rules or None)``; ``rest``:
    ``(key_data, block, values, fitted, knobs) -> outputs``, every argument but ``knobs`` per unit.
    ``values`` are the flat parameter tables of the units, made the typed :class:`Params` in the call.
    """
    if plan not in _COMPILED:
        cfg = plan.config
        optimal = cfg.policy == "optimal" and cfg.allow_settlement

        def problems(key_data: Array, values: Mapping[str, Array], knobs: Mapping[str, Array]) -> dict[str, Problem]:
            p = params_from(st, values)
            return {s: _imagined_problem(s, p, key_data[IMAGINED[s]], knobs, st, plan) for s in SIDES}

        def war(key_data: Array, values: Mapping[str, Array], fitted: Fitted, knobs: Mapping[str, Array]) -> Outputs:
            return _sample(key_data, params_from(st, values), knobs, fitted, st, plan)

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

        rest = jax.vmap(rest_one, in_axes=(0, 0, 0, 0, None), axis_name=SAMPLES_AXIS)

        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[plan] = jax.jit(first if plan.role == "first" else rest)
    return _COMPILED[plan]


def plan_for(st: Structure, paths: int, config: RunConfig, role: str = "first") -> _Plan:
    """The static description of a call (what compiles): the config, sizes, the structure's digest and
    the call's role (:data:`ROLES`); the beliefs and the levers' intensities are inputs of the call."""
    config = replace(config, backend="jax", beliefs="scenario")
    return _Plan(config=config, paths=paths, structure=st.digest, role=role)


def intensity_of(st: Structure, lever_intensity: Mapping[str, float] | None) -> np.ndarray:
    """``(levers,)`` intensity of each of the scenario's levers (0 where not given)."""
    intensities = dict(lever_intensity or {})
    for lever_id, x in intensities.items():
        if np.ndim(x) != 0:
            raise ValueError(f"lever '{lever_id}': the JAX backend takes one intensity per call, got an array")
    return np.array([float(intensities.get(lv.id, 0.0)) for lv in st.levers], dtype=np.float64)


def key_data(seeds: Sequence[np.random.SeedSequence]) -> np.ndarray:
    """``(samples, 3, 2)`` threefry keys: per sample, its true war's and each leader's imagined war's."""
    streams = (TRUE_WORLD, IMAGINED["A"], IMAGINED["B"])
    return np.array([[child(seed, j).generate_state(2, dtype=np.uint32) for j in streams] for seed in seeds])


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


def simulate_blocks(
    st: Structure,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    sample_offset: int = 0,
) -> Outcomes:
    """Simulate ``len(seeds)`` outer samples of ``paths`` paths each, in JAX.

    ``values`` are the samples' flat parameter tables (dotted paths, levers not applied): ``values[key]``
    is ``(samples,)`` (the same on every path of a sample) or ``(samples, paths)``; nothing is repeated
    per path on the host.

    A sample of more than :func:`path_block` paths is simulated in path blocks (:data:`PATH_BLOCK`); calls
    simulate :func:`samples_per_block` samples (or path blocks of samples) each, at most
    :data:`MAX_IN_FLIGHT` dispatched ahead of the one whose outputs are copied into the result.
    """
    samples = len(seeds)
    with jax.enable_x64(True):
        calls = _calls(st, values, seeds, paths, config, lever_intensity)
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
    st: Structure,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
) -> Any:
    """The lowered (not yet compiled) call of one block of :func:`simulate_blocks` (its first
    :func:`samples_per_block` samples, their first path block): ``.compile()``, ``.cost_analysis()``."""
    with jax.enable_x64(True):
        calls = _calls(st, values, seeds, paths, config, lever_intensity)
        return calls.first.lower(*calls.first_args[0])  # type: ignore[attr-defined]


def _units(value: np.ndarray, rows: np.ndarray, lo: int | np.ndarray, width: int) -> np.ndarray:
    """A flat parameter table's values ``(samples,)`` or ``(samples, paths)`` on a call's units: samples
    ``rows``, and per path paths ``lo .. lo + width`` of each, the last path repeated past the end (a
    sample's last path block may be short)."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 1:
        return a[rows]
    cols = np.minimum(np.asarray(lo)[..., None] + np.arange(width), a.shape[1] - 1)
    return a[rows[:, None], cols]


def _calls(
    st: Structure,
    values: Mapping[str, np.ndarray],
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None,
) -> _Calls:
    """The compiled calls of a run (64-bit on): the first path block of every sample, :func:`samples_per_block`
    samples a call (the last call padded by repeating the last sample), then the later path blocks."""
    check_config(config)
    samples = len(seeds)
    width = min(paths, path_block())
    blocks = -(-paths // width)
    per_call = samples_per_block(width)
    rows = np.minimum(np.arange(-(-samples // per_call) * per_call), samples - 1)
    keys = key_data(seeds)[rows]
    padded = {k: _units(v, rows, 0, width) for k, v in values.items()}
    knobs = {
        "biased": jnp.asarray(1.0 if config.beliefs == "scenario" else 0.0),
        "intensity": jnp.asarray(intensity_of(st, lever_intensity), dtype=jnp.float64),
    }
    first_args, first_pieces = [], []
    for lo in range(0, rows.size, per_call):
        part = {k: jnp.asarray(v[lo : lo + per_call]) for k, v in padded.items()}
        first_args.append((jnp.asarray(keys[lo : lo + per_call]), part, knobs))
        first_pieces.append([_Piece(0, lo, min(lo + per_call, samples), 0, width)])
    fn = _compiled(plan_for(st, width, config), st)
    rest = _compiled(plan_for(st, width, config, role="rest"), st) if blocks > 1 else None
    units = [(i, b) for i in range(samples) for b in range(1, blocks)]
    return _Calls(fn, rest, first_args, first_pieces, units, per_call, width, knobs)


def _rest_args(
    calls: _Calls, values: Mapping[str, np.ndarray], seeds: Sequence[np.random.SeedSequence], paths: int, fitted: Fitted
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
        part = {k: jnp.asarray(_units(v, who, block * width, width)) for k, v in values.items()}
        rules = None if fitted is None else jax.tree.map(lambda r, who=who: r[who], fitted)
        pieces = [
            _Piece(u, i, i + 1, b * width, min((b + 1) * width, paths))
            for u, (i, b) in enumerate(units[lo : lo + per_call])
        ]
        yield (jnp.asarray(keys[who]), jnp.asarray(block), part, rules, calls.knobs), pieces


_RANGE_ROWS = ("range_low", "range_high", "range_on_table", "at_war_decision")
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
            for name in sorted({k.removeprefix("rows.") for k in got if k.startswith("rows.")} - set(_RANGE_ROWS)):
                row = months(name)
                start = got.get(f"start.{name}")
                trajectories[name] = row if start is None else np.concatenate([flat(start)[None], row], axis=0)
        finals = {k: flat(v) for k, v in got.items() if not k.startswith(("rows.", "start."))}
        sample = np.repeat(np.arange(samples, dtype=np.int64) + offset, paths)
        out = outcomes_from(finals, sample, ranged)
        out.monthly, out.trajectories = monthly, trajectories
        return out


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
