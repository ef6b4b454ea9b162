"""The engine's exact savings: work skipped on elements whose result is never read, the same bits.

Each saving rests on an equivalence pinned here, bit for bit (compared as integers, so a last-bit
difference, a different NaN or a signed zero fails):

* the value of peace is element-wise: valued on a subset of the ``(path, terms)`` elements
  (:meth:`Valuation.peace_at`, :meth:`Valuation.peace_where`), or laid out terms by paths, each
  element has the bits it has in the full ``(paths, terms)`` computation;
* victory scores of single elements (:func:`victory_at`, ``weighted_attainment_at``) equal the full
  scores at those elements, skipping the untied aims' zero progress changes no score, and the scores
  computed terms by paths equal the paths-by-terms formula; so do the objectives' progress by columns;
* fighting on valued from one ``(now, then)`` pair equals :meth:`Valuation.fight_then`, and combat
  power kept for a state equals power recomputed;
* the engine, which values only the elements a decision reads (the myopic leader's peace later on
  the terms the other accepts; with the optimal policy B's terms where A gains, and in each leader's
  imagined war his terms where the other accepts), gives the outcomes of the engine valuing every
  element;
* the value of peace never exceeds its ceiling (:func:`leader.peace_value_ceiling`), so the myopic
  engine, which works a month's decision out in full only on the paths where the ceilings leave
  some terms acceptable to both, gives the outcomes of the engine working it out everywhere;
* nor falls below its floor (:func:`leader.peace_value_bounds`), so which terms reach a threshold
  (:meth:`Valuation.peace_at_least`, the terms a leader believes the other accepts in his imagined
  war) is decided by the bounds where they can, and by the exact value between them: the same booleans.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from functools import cache
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from ceasefire.model import bargaining, engine, leader, valuation
from ceasefire.model.engine import Outcomes, RunConfig, per_path, simulate
from ceasefire.model.valuation import Structure, Valuation, untied, victory, victory_at
from ceasefire.model.world import Side
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario
from ceasefire.model.bargaining_range import reservation_score

FLAGSHIP = "russia-ukraine-2026"


@cache
def flagship() -> Scenario:
    return load_scenario(FLAGSHIP)


def bits(a: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def random_valuation(rng: np.random.Generator, n: int, m: int) -> Valuation:
    """Values on ``n`` paths spanning the model's ranges (rates, shocks, punishments, discounts)."""
    u = rng.random
    return Valuation(
        peace_now=np.zeros((n, m)),
        stay=u(n) * 100.0,
        flow=1.0 + u(n),
        rate_war=u(n) * 0.05,
        punishment_war=u(n) * 60.0,
        delta=0.9 + 0.0999 * u(n),
        rate_peace=u(n) * 0.03,
        shock_total=u(n) * 0.2 * (u(n) < 0.9),  # some paths with no transition shock at all
        punishment=u(n) * 50.0,
        lost_war=u(n),
        tau=0.5 + 30.0 * u(n),
        gamma=3.0 * u(n),
    )


def random_scores(rng: np.random.Generator, n: int, m: int) -> NDArray[np.float64]:
    """Victory scores in [0, 1], with exact 0s and 1s (clipped scores) among them."""
    return np.clip(rng.random((n, m)) * 1.4 - 0.2, 0.0, 1.0)


# --- the value of peace --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 600),
    m=st.integers(1, 6),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_peace_on_a_subset_equals_the_full_computation(n: int, m: int, share: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n, m)
    v = random_scores(rng, n, m)
    read = rng.random((n, m)) < share
    full = val.peace(v)
    rows, terms = np.nonzero(read)
    assert np.array_equal(bits(val.peace_at(rows, v[rows, terms])), bits(full[rows, terms]))
    subset = val.peace_where(read, lambda r, k: v[r, k], -np.inf)
    assert np.array_equal(bits(subset), bits(np.where(read, full, -np.inf)))
    best = val.best_peace(read, lambda r, k: v[r, k])
    assert np.array_equal(bits(best), bits(np.where(read, full, -np.inf).max(axis=1, initial=-np.inf)))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), m=st.integers(2, 9), seed=st.integers(0, 2**32 - 1))
def test_peace_of_many_terms_equals_each_terms_alone(n: int, m: int, seed: int) -> None:
    """``peace`` lays ``(n, m)`` out terms by paths; each column has the bits of its own ``(n, 1)`` call."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n, m)
    v = random_scores(rng, n, m)
    whole = val.peace(v)
    assert whole.flags.c_contiguous and whole.shape == (n, m)
    columns = np.concatenate([val.peace(v[:, [k]]) for k in range(m)], axis=1)
    assert np.array_equal(bits(whole), bits(columns))


@settings(max_examples=50, deadline=None)
@given(
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    m=st.integers(1, 60),
    k=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_best_accepted_terms_equal_the_masked_maximum(lead: list[int], m: int, k: int, seed: int) -> None:
    """The explainer's best terms accepted, taken terms by terms: the bits of the masked ``max``
    (broadcast ``accepted``, ties, signed zeros, infinities and no term accepted included)."""
    from ceasefire.model.calculus import _best_accepted

    rng = np.random.default_rng(seed)
    pool = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, 7.0])
    peace = np.where(rng.random((*lead, m, k)) < 0.3, rng.choice(pool, (*lead, m, k)), rng.normal(size=(*lead, m, k)))
    accepted = rng.random((m, k)) < 0.5  # broadcast over the variants, as in the stopping problem
    expected = np.where(accepted, peace, -np.inf).max(axis=-1, initial=-np.inf)
    assert np.array_equal(bits(_best_accepted(accepted, peace)), bits(expected))


def test_peace_on_a_subset_of_a_batch_larger_than_a_block() -> None:
    """Beyond :data:`leader.PEACE_BLOCK` elements the series runs in blocks: a subset still matches."""
    rng = np.random.default_rng(5)
    n, m = leader.PEACE_BLOCK // 3 + 17, 4
    val = random_valuation(rng, n, m)
    v = random_scores(rng, n, m)
    read = rng.random((n, m)) < 0.45
    full = val.peace(v)
    subset = val.peace_where(read, lambda r, k: v[r, k], np.nan)
    assert np.array_equal(bits(subset[read]), bits(full[read]))
    assert np.isnan(subset[~read]).all()


# --- victory scores ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    aims=st.integers(1, 7),
    terms=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_weighted_attainment_skips_untied_aims_exactly(n: int, aims: int, terms: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    granted = rng.random((aims, terms)) < 0.5
    lost = rng.random(aims) < 0.4
    weights = rng.random(aims) * (rng.random(aims) < 0.8)  # some zero weights
    weights[0] += 0.1  # not all zero
    free = rng.random(aims) < 0.5
    progress = np.clip(rng.random((n, aims)) * 1.4 - 0.2, 0.0, 1.0)
    progress[:, free] = 0.0
    full = bargaining.weighted_attainment(granted, progress, lost, weights)
    skipped = bargaining.weighted_attainment(granted, progress, lost, weights, free)
    assert np.array_equal(bits(full), bits(skipped))
    rows = rng.integers(0, n, size=2 * n)
    cols = rng.integers(0, terms, size=2 * n)
    at = bargaining.weighted_attainment_at(granted, progress[rows], lost, weights, cols, free)
    assert np.array_equal(bits(at), bits(full[rows, cols]))


@pytest.mark.parametrize("side", ["A", "B"])
def test_victory_at_single_elements_equals_victory(side: str) -> None:
    sc = flagship()
    structure = Structure.from_scenario(sc)
    n = 64
    params = per_path(sample_parameters(sc, 8, 3), n // 8)
    sd = Side(params, side)
    rng = np.random.default_rng(11)
    progress = np.clip(rng.random((n, structure.n_objectives)) * 1.4 - 0.2, 0.0, 1.0)
    idx = np.sort(rng.choice(n, size=40, replace=False))
    full = victory(structure, side, progress[idx], sd, idx)
    rows, terms = np.nonzero(rng.random(full.shape) < 0.5)
    assert np.array_equal(
        bits(victory_at(structure, side, progress[idx], sd, idx, rows, terms)), bits(full[rows, terms])
    )
    everyone = victory(structure, side, progress, sd, slice(None))
    r2, k2 = np.nonzero(rng.random(everyone.shape) < 0.5)
    assert np.array_equal(bits(victory_at(structure, side, progress, sd, slice(None), r2, k2)), bits(everyone[r2, k2]))
    # the flagship has aims tied to no objective: skipping them is what is exercised
    assert untied(structure, side).any()
    plain = bargaining.weighted_attainment(
        structure.granted[side],
        np.concatenate([progress, np.zeros((n, 1))], axis=1)[
            :, np.where(structure.aim_objective[side] >= 0, structure.aim_objective[side], structure.n_objectives)
        ],
        structure.aim_lost[side],
        structure.aim_weights[side],
    )
    received = sd.ld["concession_received"]
    offered = received + (structure.concessions(side).max() if len(structure.terms) else 0.0)
    reference = bargaining.victory_from_score(
        plain,
        sd.ld["aspiration"],
        received[:, None] + structure.concessions(side)[None, :],
        offered,
        sd.ld["reasons.opportunism"],
    )
    assert np.array_equal(bits(everyone), bits(reference))


# --- the engine ----------------------------------------------------------------------------------

Array = NDArray[np.float64]


def _every_element(
    self: Valuation,
    read: NDArray[np.bool_],
    scores: Callable[[NDArray[np.int64], NDArray[np.int64]], Array],
    fill: float,
) -> NDArray[np.float64]:
    """The reference for ``Valuation.peace_where``: every element valued, the unread ones then dropped."""
    n, m = read.shape
    rows, terms = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    return np.where(read, self.peace(scores(rows, terms).reshape(n, m)), fill)


def _every_value_compared(
    self: Valuation, v_by_terms: NDArray[np.float64], threshold: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """The reference for ``Valuation.peace_at_least``: every element valued exactly, then compared."""
    return np.ascontiguousarray((self.peace(np.ascontiguousarray(v_by_terms.T)) >= threshold[:, None]).T)


def _outcome_arrays(o: Outcomes) -> dict[str, NDArray[np.generic]]:
    out: dict[str, NDArray[np.generic]] = {}
    for f in fields(o):
        value = getattr(o, f.name)
        for key, arr in value.items() if isinstance(value, dict) else [("", value)]:
            out[f"{f.name}.{key}"] = np.ascontiguousarray(arr)
    return out


def _simulate(policy: str, record: bool = False, bargaining_range: bool = True) -> Outcomes:
    sc = flagship()
    seeds = Seeds.from_seed(21)
    samples, paths = 3, 120
    values = sample_parameters(sc, samples, seeds.parameters)
    config = RunConfig(horizon=18, policy=policy, record=record, bargaining_range=bargaining_range)
    return simulate(sc, per_path(values, paths), [seeds.path_seed(i) for i in range(samples)], paths, config)


def _assert_same(a: Outcomes, b: Outcomes, skip: tuple[str, ...] = ()) -> None:
    x = {k: v for k, v in _outcome_arrays(a).items() if not k.startswith(skip)}
    y = {k: v for k, v in _outcome_arrays(b).items() if not k.startswith(skip)}
    assert x.keys() == y.keys()
    for name in x:
        assert x[name].dtype == y[name].dtype and x[name].shape == y[name].shape, name
        assert x[name].tobytes() == y[name].tobytes(), name


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_engine_valuing_only_what_is_read_equals_valuing_everything(
    policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = _simulate(policy)
    monkeypatch.setattr(Valuation, "peace_where", _every_element)
    monkeypatch.setattr(Valuation, "peace_at_least", _every_value_compared)
    reference = _simulate(policy)
    _assert_same(saved, reference)
    assert (saved.first_settlement >= 0).any()  # decisions were taken: the comparison has teeth


def test_rules_weighting_runs_of_a_sample_give_the_outcomes_of_weighting_each_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Continuation values weighted run by run of a sample's paths (:func:`lsm.batch_runs`) or with
    each path's copy of its sample's coefficients and bounds: the same outcomes."""
    from ceasefire.solve import lsm

    monkeypatch.setattr(lsm, "RUN_PATHS", 1)  # every sample's paths weighted as a run
    runs = _simulate("optimal")
    monkeypatch.setattr(lsm, "RUN_PATHS", 10**9)  # never
    copies = _simulate("optimal")
    _assert_same(runs, copies)
    assert (runs.first_settlement >= 0).any()


def test_optimal_outcomes_do_not_depend_on_recording() -> None:
    """Recording the gains values all of B's terms; not recording, only those where A gains."""
    plain = _simulate("optimal", bargaining_range=False)
    recorded = _simulate("optimal", record=True, bargaining_range=False)
    _assert_same(plain, recorded, skip=("trajectories",))
    assert (plain.first_settlement >= 0).any()


@pytest.mark.parametrize("bargaining_range", [False, True])
@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_screen_gives_the_outcomes_of_every_path_worked_out(
    policy: str, bargaining_range: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen of :func:`engine._deal_possible` changes which paths are worked out, not any outcome
    (nor the recorded range): against the screen switched off, and against recording (which values
    every element anyway)."""
    kept: list[float] = []
    screen = engine._deal_possible

    def spy(*args: object, **kwargs: object) -> NDArray[np.bool_]:
        out = screen(*args, **kwargs)  # type: ignore[arg-type]
        kept.append(float(out.mean()))
        return out

    monkeypatch.setattr(engine, "_deal_possible", spy)
    screened = _simulate(policy, bargaining_range=bargaining_range)
    assert kept and min(kept) < 0.5  # the screen set paths aside: the comparison has teeth
    monkeypatch.setattr(engine, "_deal_possible", lambda open_first, *_: np.ones(open_first.shape[1], dtype=bool))
    everywhere = _simulate(policy, bargaining_range=bargaining_range)
    _assert_same(screened, everywhere)
    recorded = _simulate(policy, record=True, bargaining_range=bargaining_range)
    _assert_same(screened, recorded, skip=("trajectories",))
    assert (screened.first_settlement >= 0).any()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), points=st.integers(2, 12), seed=st.integers(0, 2**32 - 1))
def test_reservation_score_valued_lazily_equals_every_grid_point(n: int, points: int, seed: int) -> None:
    """:meth:`Valuation.reservation_score` values only the grid points it reads, with the bits of the
    kernel on every point; fights below every value, above every value, between and NaN."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n, 1)
    grid = np.linspace(0.0, 1.0, points)
    values = val.peace(np.broadcast_to(grid, (n, points)))
    low, high = values.min(axis=1), values.max(axis=1)
    kind = rng.integers(0, 5, n)
    fight = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [low - 1.0, high + 1.0, values[np.arange(n), rng.integers(0, points, n)], np.full(n, np.nan)],
        low + (high - low) * rng.random(n),
    )
    with mock.patch.object(valuation, "LAZY_RESERVATION", 0):  # valued lazily however few the paths
        lazy = val.reservation_score(grid, fight)
    every = reservation_score(values, grid, fight)
    assert np.array_equal(bits(lazy), bits(every))
    assert np.array_equal(bits(val.reservation_score(grid, fight)), bits(every))  # few paths: every point


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_peace_at_least_gives_the_booleans_of_the_exact_values(n: int, m: int, seed: int) -> None:
    """:meth:`Valuation.peace_at_least` settles elements by the bounds and values the rest: the booleans
    of comparing every exact value. Thresholds far below and above every value, equal to one of the
    path's values (decided only by the exact value), a last bit either side of it, and NaN; scores
    with NaN among them (never certified)."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n, m)
    v = random_scores(rng, n, m)
    v[rng.random((n, m)) < 0.05] = np.nan
    values = val.peace(v)
    one = values[np.arange(n), rng.integers(0, m, n)]
    kind = rng.integers(0, 6, n)
    threshold = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [np.full(n, -1e6), np.full(n, 1e6), one, np.nextafter(one, np.inf), np.nextafter(one, -np.inf)],
        np.full(n, np.nan),
    )
    reached = val.peace_at_least(np.ascontiguousarray(v.T), threshold)
    assert np.array_equal(reached, (values >= threshold[:, None]).T)


def _peace_arguments(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], ...]:
    """Arguments of the value of peace across and beyond the model's ranges: flow parts of both
    signs, no shock, amplitudes up to about 40, decays from fast to slow, discounts near 1."""
    u = rng.random
    base_rate = u(n) * 0.08
    shock = np.where(u(n) < 0.1, 0.0, u(n) ** 3 * 2.5)
    shock_months = 0.3 + 40.0 * u(n) ** 2
    punishment = np.where(u(n) < 0.5, u(n) * 60.0, u(n) * 2000.0)
    delta = 1.0 - 10.0 ** (-4.0 * u(n) - 0.3)
    return base_rate, shock, shock_months, punishment, delta


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_screen_bounding_the_second_leader_only_where_the_first_leaves_terms_open(n: int, m: int, seed: int) -> None:
    """:func:`engine._deal_possible` bounds the other leader's values only on the elements the first
    leader's bounds leave open (:func:`engine._terms_open`; :meth:`Valuation.peace_ceiling_at`, the bits
    of :meth:`Valuation.peace_ceiling` there): the paths of both leaders' bounds on every element, in
    either order. Floors below, between and above the bounds, and NaN."""
    rng = np.random.default_rng(seed)
    val = {s: random_valuation(rng, n, m) for s in ("A", "B")}
    scores = {s: np.ascontiguousarray(random_scores(rng, n, m).T) for s in ("A", "B")}
    available = rng.random(m) < 0.8
    ceilings = {s: val[s].peace_ceiling(scores[s]) for s in ("A", "B")}
    floor = {}
    for s in ("A", "B"):
        column = ceilings[s][rng.integers(0, m, n), np.arange(n)]
        floor[s] = np.select([rng.random(n) < 0.1, rng.random(n) < 0.5], [np.nan, column], column - 0.5 + rng.random(n))
    every = available[:, None] & ~(ceilings["A"] < floor["A"]) & ~(ceilings["B"] < floor["B"])
    for first, second in (("A", "B"), ("B", "A")):
        open_first = engine._terms_open(val[first], scores[first], available, floor[first])
        assert np.array_equal(open_first, available[:, None] & ~(ceilings[first] < floor[first]))
        possible = engine._deal_possible(open_first, val[second], scores[second], floor[second])
        assert np.array_equal(possible, every.any(axis=0))
    terms, rows = np.nonzero(rng.random((m, n)) < 0.5)
    at = val["B"].peace_ceiling_at(rows, scores["B"][terms, rows])
    assert np.array_equal(bits(at), bits(ceilings["B"][terms, rows]))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_peace_value_lies_between_its_floor_and_ceiling(n: int, seed: int) -> None:
    args = _peace_arguments(np.random.default_rng(seed), n)
    value = leader.peace_value(*args)
    ceiling = leader.peace_value_ceiling(*args)
    floor, ceiling_too = leader.peace_value_bounds(*args)
    assert np.all(floor <= value) and np.all(value <= ceiling)
    assert np.array_equal(bits(ceiling_too), bits(ceiling))  # the bounds' ceiling is the ceiling's bits
    amp = args[1] / (1.0 - np.exp(-1.0 / args[2]))
    certified = amp <= leader.CEILING_MAX_AMPLITUDE
    assert np.all(np.isfinite(ceiling) == certified) and np.all(np.isfinite(floor) == certified)


def test_peace_value_bounds_of_a_batch_larger_than_a_block_equal_those_of_its_pieces() -> None:
    """A batch above :data:`leader.PEACE_BLOCK` elements is bounded in blocks of rows: the bits of the
    bounds of small pieces of it."""
    args = _peace_arguments(np.random.default_rng(11), leader.PEACE_BLOCK + 4_321)
    floor, ceiling = leader.peace_value_bounds(*args)
    pieces = [leader.peace_value_bounds(*(a[lo : lo + 1000] for a in args)) for lo in range(0, args[0].size, 1000)]
    assert np.array_equal(bits(floor), bits(np.concatenate([f for f, _ in pieces])))
    assert np.array_equal(bits(ceiling), bits(np.concatenate([c for _, c in pieces])))
    assert np.array_equal(bits(leader.peace_value_ceiling(*args)), bits(ceiling))


def test_peace_value_bounds_are_as_tight_as_their_omitted_terms() -> None:
    """The ceiling is above the value, and the floor below it, by at most twice the width of the
    interval for the terms they do not sum (``A^K / K! min(A, 1)`` of the value's scale) and the
    safety margin: exact but for the margin with no shock, within a few hundredths for the model's
    amplitudes (up to about 0.4, and much closer where the shock decays fast), tight enough to
    decide most comparisons."""
    args = _peace_arguments(np.random.default_rng(5), 20_000)
    base_rate, shock, shock_months, punishment, delta = args
    amp = shock / (1.0 - np.exp(-1.0 / shock_months))
    certified = amp <= leader.CEILING_MAX_AMPLITUDE
    value = leader.peace_value(*args)[certified]
    floor = leader.peace_value_bounds(*args)[0][certified]
    scale = (np.abs(1.0 - base_rate * punishment) + shock * punishment + 1.0) / (1.0 - delta * np.exp(-base_rate))
    k = leader.CEILING_TERMS
    omitted = 2.0 * amp**k / math.factorial(k) * np.minimum(amp, 1.0)
    none = (shock == 0.0)[certified]
    for gap in (leader.peace_value_ceiling(*args)[certified] - value, value - floor):
        assert np.all(gap >= 0.0)
        assert np.all(gap <= (omitted + 3e-9)[certified] * scale[certified])
        assert none.sum() > 100 and np.max((gap / scale[certified])[none]) < 3e-9


def test_peace_value_ceiling_is_not_certified_outside_its_range() -> None:
    base_rate, shock, months, punishment, delta = (np.full(7, x) for x in (0.01, 0.05, 6.0, 20.0, 0.99))
    shock[0] = -0.01  # a negative shock
    shock[1] = np.nan
    months[2] = -1.0  # the decay is then above 1
    delta[3] = 1.2  # discount-and-survival above 1
    punishment[4] = np.inf
    shock[5] = 8.0  # amplitude about 52: above the certified range
    punishment[6] = 1e110  # a scale above 1e100
    ceiling = leader.peace_value_ceiling(base_rate, shock, months, punishment, delta)
    assert np.all(ceiling == np.inf)
    floor, _ = leader.peace_value_bounds(base_rate, shock, months, punishment, delta)
    assert np.all(floor == -np.inf)
    assert np.isfinite(leader.peace_value_ceiling(*(np.float64(x) for x in (0.01, 0.05, 6.0, 20.0, 0.99))))


# --- fighting on, combat power ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), months=st.integers(0, 24), seed=st.integers(0, 2**32 - 1))
def test_fight_terms_compose_to_fight_then(n: int, months: int, seed: int) -> None:
    """The myopic leader values fighting on twice a month from one ``(now, then)``: the same bits."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n, 1)
    now, then = val.fight_terms(months)
    for continuation in (val.stay, rng.random(n) * 200.0 - 50.0):
        assert np.array_equal(bits(now + then * continuation), bits(val.fight_then(months, continuation)))


def test_power_is_computed_once_per_state() -> None:
    from ceasefire.model.engine import _noise, _world

    sc = flagship()
    structure = Structure.from_scenario(sc)
    seeds = Seeds.from_seed(4)
    params = per_path(sample_parameters(sc, 2, seeds.parameters), 50)
    lever_u, z, u = _noise([seeds.path_seed(0), seeds.path_seed(1)], 0, 50, 3, len(structure.levers))
    world = _world(sc, structure, params, {}, lever_u, {"A": np.full(100, 0.2)})
    war = np.ones(100, dtype=bool)
    for t in range(3):
        first = world.power()
        assert all(first[s] is world.power()[s] for s in first)  # kept
        world._power = None  # forget it: recomputed, the same bits
        again = world.power()
        assert all(np.array_equal(bits(first[s]), bits(again[s])) for s in first)
        world.step(z[t], u[t], war, np.zeros(100))
        after = world.power()
        assert not any(after[s] is first[s] for s in first)  # a new state, a new power
        assert not np.array_equal(after["A"], first["A"])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(0, 4), seed=st.integers(0, 2**32 - 1))
def test_objective_progress_by_columns_equals_the_broadcast_formula(n: int, k: int, seed: int) -> None:
    from ceasefire.model.attrition import objective_progress

    rng = np.random.default_rng(seed)
    bounds = np.concatenate([np.zeros((n, 1)), np.cumsum(rng.random((n, k)) * 1000.0 + 1.0, axis=1)], axis=1)
    gained = rng.random(n) * 1.3 * bounds[:, -1] - 0.1 * bounds[:, -1]
    gained[: n // 4] = bounds[: n // 4, min(1, k)]  # exactly on a boundary
    old = np.clip((gained[:, None] - bounds[:, :-1]) / (bounds[:, 1:] - bounds[:, :-1]), 0.0, 1.0)
    new = objective_progress(gained, bounds)
    assert new.shape == (n, k) and new.flags.c_contiguous
    assert np.array_equal(bits(new), bits(old))
