"""NumPy's fast path (:mod:`ceasefire.model.screen`): the work it skips, on elements whose result is
never read, changes no bit.

Each saving rests on an equivalence pinned here, bit for bit (compared as integers, so a last-bit
difference, a different NaN or a signed zero fails):

* the value of peace is element-wise: valued on a subset of the ``(path, terms)`` elements
  (:func:`screen.peace_at`), or laid out terms by paths, each element has the bits it has in the full
  ``(paths, terms)`` computation;
* victory scores of single elements (:func:`victory_at`, ``weighted_attainment_at``) equal the full
  scores at those elements, skipping the untied aims' zero progress changes no score, and the scores
  computed terms by paths equal the paths-by-terms formula; so do the objectives' progress by columns;
* the value of peace never exceeds its ceiling nor falls below its floor, so the terms that reach a
  threshold, the best accepted terms and the reservation scores (:class:`screen.Lazy`) are those of
  valuing every element (:class:`valuation.Exact`);
* the engine with the screen on gives the outcomes of the engine with it off, and of recording
  (which values every element), for both policies, with and without the bargaining range.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from functools import cache
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from ceasefire.model import bargaining, leader, screen
from ceasefire.model.backend import NUMPY
from ceasefire.model.bargaining_range import reservation_score
from ceasefire.model.engine import Outcomes, RunConfig, per_path
from ceasefire.model.valuation import (
    Deals,
    Exact,
    TermScores,
    Valuation,
    battle_deals,
    grid_deals,
    victory,
    victory_at,
)
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario
from conftest import simulate_flat

FLAGSHIP = "russia-ukraine-2026"


@cache
def flagship() -> Scenario:
    return load_scenario(FLAGSHIP)


def bits(a: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def random_valuation(rng: np.random.Generator, shape: int | tuple[int, ...]) -> Valuation:
    """Values on paths of ``shape`` spanning the model's ranges (rates, shocks, punishments, discounts, the
    peace hazard's excess, the ceasefire's breakdown, the policy outcome, some leaders with none)."""

    def u(scale: float = 1.0) -> NDArray[np.float64]:
        return rng.random(shape) * scale

    delta = 0.9 + u(0.0999)
    stay_office = u(100.0)
    policy_weight = u() * (u() < 0.7)
    attainment_war = u()
    return Valuation(
        stay=stay_office + policy_weight * attainment_war / (1.0 - delta),
        stay_office=stay_office,
        flow=1.0 + u(),
        rate_war=u(0.05),
        punishment_war=u(60.0),
        delta=delta,
        peace_long=u(0.03),
        peace_excess=u(0.02) * (u() < 0.7),
        shock_total=u(0.2) * (u() < 0.9),  # some paths with no transition shock at all
        punishment=u(50.0),
        lost_war=u(),
        tau=0.5 + u(30.0),
        gamma=u(3.0),
        policy_weight=policy_weight,
        attainment_war=attainment_war,
        breakdown_long=u(0.01),
        breakdown_excess=u(0.03) * (u() < 0.8),
        guarantee_factor=0.3 + u(0.4),
    )


EXACT = Exact(NUMPY)


class Given(TermScores):
    """Deals given as tables ``(paths, terms)`` (victory scores, attainment, audience factors) and per terms
    (guarantees, removal), as the evaluators read them."""

    def __init__(
        self,
        v: NDArray[np.float64],
        h: NDArray[np.float64] | None = None,
        audience: NDArray[np.float64] | None = None,
        guaranteed: NDArray[np.bool_] | None = None,
        removes: NDArray[np.bool_] | None = None,
    ) -> None:
        m = v.shape[-1]
        self.v = v
        self.h = v if h is None else h
        self.audience = np.ones_like(v) if audience is None else audience
        self.guaranteed = np.zeros(m, dtype=bool) if guaranteed is None else guaranteed
        self.removes = np.zeros(m, dtype=bool) if removes is None else removes

    def by_paths(self) -> NDArray[np.float64]:
        return self.v

    def by_terms(self) -> NDArray[np.float64]:
        return np.ascontiguousarray(self.v.T)

    def at(self, rows: object, terms: object) -> NDArray[np.float64]:
        return self.v[rows, terms]  # type: ignore[index,no-any-return]

    def deals(self, layout_by_terms: bool = False) -> Deals:
        if layout_by_terms:
            t = [np.ascontiguousarray(a.T) for a in (self.v, self.h, self.audience)]
            return Deals(*t, self.guaranteed[:, None], self.removes[:, None])
        return Deals(self.v, self.h, self.audience, self.guaranteed, self.removes)

    def deals_at(self, rows: object, terms: object) -> Deals:
        return Deals(
            self.v[rows, terms],  # type: ignore[index]
            self.h[rows, terms],  # type: ignore[index]
            self.audience[rows, terms],  # type: ignore[index]
            self.guaranteed[terms],  # type: ignore[index]
            self.removes[terms],  # type: ignore[index]
        )

    def column(self, k: int) -> Given:
        """The deals of terms ``k`` alone."""
        return Given(self.v[:, [k]], self.h[:, [k]], self.audience[:, [k]], self.guaranteed[[k]], self.removes[[k]])


def random_scores(rng: np.random.Generator, n: int, m: int) -> NDArray[np.float64]:
    """Victory scores in [0, 1], with exact 0s and 1s (clipped scores) among them."""
    return np.clip(rng.random((n, m)) * 1.4 - 0.2, 0.0, 1.0)


def random_deals(rng: np.random.Generator, n: int, m: int) -> Given:
    """Terms as deals: victory scores and attainment in [0, 1] (exact 0s and 1s among them), audience
    factors of 1 and above, some terms with guarantees and a few that remove the leader."""
    v, h = random_scores(rng, n, m), random_scores(rng, n, m)
    audience = np.where(rng.random((n, m)) < 0.5, 1.0, np.exp(2.0 * rng.random((n, m))))
    return Given(v, h, audience, rng.random(m) < 0.5, rng.random(m) < 0.15)


def peace(val: Valuation, deals: Given) -> NDArray[np.float64]:
    """Every element's value of peace ``(paths, terms)``."""
    return EXACT.values([(val, deals.deals())])[0]  # type: ignore[no-any-return]


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
    val = random_valuation(rng, n)
    deals = random_deals(rng, n, m)
    read = rng.random((n, m)) < share
    full = peace(val, deals)
    rows, terms = np.nonzero(read)
    lazy = screen.Lazy()
    assert np.array_equal(bits(lazy.peace_at(val, rows, deals.deals_at(rows, terms))), bits(full[rows, terms]))
    best = lazy.best(val, read, deals)
    assert np.array_equal(bits(best), bits(np.where(read, full, -np.inf).max(axis=1, initial=-np.inf)))
    assert np.array_equal(bits(best), bits(EXACT.best(val, read, deals)))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), m=st.integers(2, 9), seed=st.integers(0, 2**32 - 1))
def test_peace_of_many_terms_equals_each_terms_alone(n: int, m: int, seed: int) -> None:
    """The screen lays ``(n, m)`` out terms by paths; each column has the bits of its own ``(n, 1)`` call."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n)
    deals = random_deals(rng, n, m)
    whole = screen._peace(screen.Lazy(), val, deals.deals(layout_by_terms=True))
    assert whole.flags.c_contiguous and whole.shape == (n, m)
    columns = np.concatenate([peace(val, deals.column(k)) for k in range(m)], axis=1)
    assert np.array_equal(bits(whole), bits(columns))
    assert np.array_equal(bits(whole), bits(peace(val, deals)))


@settings(max_examples=50, deadline=None)
@given(
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    m=st.integers(1, 60),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_best_accepted_terms_broadcast_over_variants(lead: list[int], m: int, k: int, seed: int) -> None:
    """The explanation's best terms accepted (:meth:`Exact.problem_values`), ``accepted`` broadcast over
    variants of the leader's values: the masked maximum, no term accepted giving ``-inf``."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, (*lead, m))
    other = random_valuation(rng, m)
    deals_other, deals_own = random_deals(rng, m, k), random_deals(rng, m, k)
    battle = battle_deals(rng.random(m), rng.random(m))
    available = np.ones(k, dtype=bool)
    accepted, here, best = EXACT.problem_values(other, deals_other, available, [val], battle, deals_own)
    assert np.array_equal(accepted, peace(other, deals_other) >= other.stay[:, None])
    expected = np.where(accepted, peace(val, deals_own), -np.inf).max(axis=-1, initial=-np.inf)
    assert np.array_equal(bits(best[0]), bits(expected))
    assert np.array_equal(bits(here[0]), bits(EXACT.values([(val, battle)])[0][..., 0]))
    if not lead:  # the fast path (one leader's values per path): the same answers
        lazy = screen.Lazy().problem_values(other, deals_other, available, [val], battle, deals_own)
        assert np.array_equal(lazy[0], accepted)
        assert np.array_equal(bits(lazy[1][0]), bits(here[0])) and np.array_equal(bits(lazy[2][0]), bits(best[0]))


def test_peace_on_a_subset_of_a_batch_larger_than_a_block() -> None:
    """Beyond :data:`leader.PEACE_BLOCK` elements the series runs in blocks: a subset still matches."""
    rng = np.random.default_rng(5)
    n, m = leader.PEACE_BLOCK // 3 + 17, 4
    val = random_valuation(rng, n)
    deals = random_deals(rng, n, m)
    read = rng.random((n, m)) < 0.45
    full = peace(val, deals)
    subset = screen._peace_where(screen.Lazy(), val, read, deals, np.arange(n), np.nan)
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
    structure = structure_of(sc)
    n = 64
    params = params_of(structure, per_path(sample_parameters(sc, 8, 3), n // 8))
    ld = params.leaders[side]
    rng = np.random.default_rng(11)
    progress = np.clip(rng.random((n, structure.n_objectives)) * 1.4 - 0.2, 0.0, 1.0)
    everyone = victory(structure, side, progress, ld)
    r2, k2 = np.nonzero(rng.random(everyone.shape) < 0.5)
    assert np.array_equal(bits(victory_at(structure, side, progress, ld, r2, k2)), bits(everyone[r2, k2]))
    by_terms = victory(structure, side, progress, ld, layout_by_terms=True)
    assert np.array_equal(bits(by_terms.T), bits(everyone))
    # the general formula (the explanation's and JAX's: no terms-by-paths detour) has the same bits
    ld_variants = params.leaders[side].__class__(
        **{f: (getattr(ld, f) if f in ("reasons", "successor") else np.asarray(getattr(ld, f))[None, :])
           for f in ld.__dataclass_fields__}
    )  # fmt: skip
    assert np.array_equal(bits(victory(structure, side, progress, ld_variants)[0]), bits(everyone))
    # the flagship has aims tied to no objective: skipping them is what is exercised
    assert structure.untied(side).any()
    plain = bargaining.weighted_attainment(
        structure.granted[side],
        np.concatenate([progress, np.zeros((n, 1))], axis=1)[
            :, np.where(structure.aim_objective[side] >= 0, structure.aim_objective[side], structure.n_objectives)
        ],
        structure.aim_lost[side],
        structure.aim_weights[side],
    )
    received = ld.concession_received
    offered = received + (structure.concessions(side).max() if len(structure.terms) else 0.0)
    reference = bargaining.victory_from_score(
        plain,
        ld.aspiration,
        received[:, None] + structure.concessions(side)[None, :],
        offered,
        ld.reasons.opportunism,
    )
    assert np.array_equal(bits(everyone), bits(reference))


# --- the engine ----------------------------------------------------------------------------------

Array = NDArray[np.float64]


def _outcome_arrays(o: Outcomes) -> dict[str, NDArray[np.generic]]:
    out: dict[str, NDArray[np.generic]] = {}
    for f in fields(o):
        value = getattr(o, f.name)
        for key, arr in value.items() if isinstance(value, dict) else [("", value)]:
            out[f"{f.name}.{key}"] = np.ascontiguousarray(arr)
    return out


def _simulate(
    policy: str,
    record: bool = False,
    bargaining_range: bool = True,
    screened: bool = True,
    seed: int = 21,
    block: int | list[int] = 0,
) -> Outcomes:
    """Three samples of 120 paths over 48 months (under Model 2 the flagship hardly settles within 18, and
    the comparisons need decisions taken); ``block``: which path block of its sample each seed's paths are
    (the range is recorded on block 0 only)."""
    sc = flagship()
    seeds = Seeds.from_seed(seed)
    samples, paths = 3, 120
    values = sample_parameters(sc, samples, seeds.parameters)
    config = RunConfig(horizon=48, policy=policy, record=record, bargaining_range=bargaining_range, screen=screened)
    path_seeds = [seeds.path_seed(i) for i in range(samples)]
    return simulate_flat(sc, per_path(values, paths), path_seeds, paths, config, block=block)


def _assert_same(a: Outcomes, b: Outcomes, skip: tuple[str, ...] = ()) -> None:
    x = {k: v for k, v in _outcome_arrays(a).items() if not k.startswith(skip)}
    y = {k: v for k, v in _outcome_arrays(b).items() if not k.startswith(skip)}
    assert x.keys() == y.keys()
    for name in x:
        assert x[name].dtype == y[name].dtype and x[name].shape == y[name].shape, name
        assert x[name].tobytes() == y[name].tobytes(), name


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


@settings(max_examples=8, deadline=None)
@given(
    policy=st.sampled_from(["myopic", "optimal"]),
    bargaining_range=st.booleans(),
    seed=st.integers(0, 2**16),
    block=st.lists(st.integers(0, 1), min_size=3, max_size=3),
)
def test_the_screen_changes_no_decision_and_no_number(
    policy: str, bargaining_range: bool, seed: int, block: list[int]
) -> None:
    """The fast path on and off (every element valued) and recording (which values every element
    anyway) give the same outcomes, bit for bit, and the same recorded range (on part of the paths
    where some samples' paths are a later path block)."""
    kw = {"bargaining_range": bargaining_range, "seed": seed, "block": block}
    screened = _simulate(policy, **kw)  # type: ignore[arg-type]
    everywhere = _simulate(policy, screened=False, **kw)  # type: ignore[arg-type]
    _assert_same(screened, everywhere)
    recorded = _simulate(policy, record=True, **kw)  # type: ignore[arg-type]
    _assert_same(screened, recorded, skip=("trajectories",))


@pytest.mark.parametrize("policy", ["myopic", "optimal"])
def test_the_screen_sets_paths_aside(policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above has teeth: the screen works some months out on part of the paths only,
    and decisions are taken."""
    kept: list[float] = []
    possible = screen._deal_possible

    def spy(*args: object, **kwargs: object) -> NDArray[np.bool_]:
        out = possible(*args, **kwargs)  # type: ignore[arg-type]
        kept.append(float(out.mean()))
        return out

    monkeypatch.setattr(screen, "_deal_possible", spy)
    screened = _simulate(policy, bargaining_range=False)
    assert kept and min(kept) < 0.5
    assert (screened.first_settlement >= 0).any()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), points=st.integers(2, 12), seed=st.integers(0, 2**32 - 1))
def test_reservation_score_valued_lazily_equals_every_grid_point(n: int, points: int, seed: int) -> None:
    """:meth:`Valuation.reservation_score` values only the grid points it reads, with the bits of the
    kernel on every point; fights below every value, above every value, between and NaN."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n)
    grid = np.linspace(0.0, 1.0, points)
    values = EXACT.values([(val, grid_deals(np.broadcast_to(grid, (n, points))))])[0]
    low, high = values.min(axis=1), values.max(axis=1)
    kind = rng.integers(0, 5, n)
    fight = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [low - 1.0, high + 1.0, values[np.arange(n), rng.integers(0, points, n)], np.full(n, np.nan)],
        low + (high - low) * rng.random(n),
    )
    with mock.patch.object(screen, "LAZY_RESERVATION", 0):  # valued lazily however few the paths
        lazy = screen.Lazy().reservation(val, grid, fight)
    every = reservation_score(values, grid, fight)
    assert np.array_equal(bits(lazy), bits(every))
    assert np.array_equal(bits(screen.Lazy().reservation(val, grid, fight)), bits(every))  # few paths
    assert np.array_equal(bits(EXACT.reservation(val, grid, fight)), bits(every))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_peace_at_least_gives_the_booleans_of_the_exact_values(n: int, m: int, seed: int) -> None:
    """:meth:`screen.Lazy.reaches` settles elements by the bounds and values the rest: the booleans
    of comparing every exact value. Thresholds far below and above every value, equal to one of the
    path's values (decided only by the exact value), a last bit either side of it, and NaN; scores
    with NaN among them (never certified)."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n)
    deals = random_deals(rng, n, m)
    deals.v[rng.random((n, m)) < 0.05] = np.nan
    values = peace(val, deals)
    one = values[np.arange(n), rng.integers(0, m, n)]
    kind = rng.integers(0, 6, n)
    threshold = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [np.full(n, -1e6), np.full(n, 1e6), one, np.nextafter(one, np.inf), np.nextafter(one, -np.inf)],
        np.full(n, np.nan),
    )
    reached = screen.Lazy().reaches(val, deals, threshold)
    assert np.array_equal(reached, values >= threshold[:, None])
    assert np.array_equal(EXACT.reaches(val, deals, threshold), reached)


def _peace_arguments(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], ...]:
    """Arguments of :func:`leader.peace_series` across and beyond the model's ranges: no shock, amplitudes up
    to about 40, decays from fast to slow, discounts near 1; the office part of a peace (``a = 1 - lambda0
    Pi``, ``c = J Pi``) and, for a third, a breakdown's value at war added (flow parts and shock costs of
    either sign)."""
    u = rng.random
    base_rate = u(n) * 0.08
    shock = np.where(u(n) < 0.1, 0.0, u(n) ** 3 * 2.5)
    shock_months = 0.3 + 40.0 * u(n) ** 2
    punishment = np.where(u(n) < 0.5, u(n) * 60.0, u(n) * 2000.0)
    delta = 1.0 - 10.0 ** (-4.0 * u(n) - 0.3)
    flow_part, shock_cost = 1.0 - base_rate * punishment, shock * punishment
    back = (u(n) < 1 / 3) * u(n) * 200.0  # nu * stay_office, nu of the breakdown, at least its excess's part
    flow_part = flow_part + 0.01 * back
    shock_cost = shock_cost - 0.02 * back
    return base_rate, shock, shock_months, delta, flow_part, shock_cost


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), m=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_screen_bounding_the_second_leader_only_where_the_first_leaves_terms_open(n: int, m: int, seed: int) -> None:
    """:func:`screen._deal_possible` bounds the other leader's values only on the elements the first
    leader's bounds leave open (:func:`screen._terms_open`; :meth:`screen.Lazy.peace_ceiling_at`, the bits
    of :meth:`screen.Lazy.peace_ceiling` there): the paths of both leaders' bounds on every element, in
    either order. Floors below, between and above the bounds, and NaN."""
    rng = np.random.default_rng(seed)
    lazy = screen.Lazy()
    val = {s: random_valuation(rng, n) for s in ("A", "B")}
    deals = {s: random_deals(rng, n, m) for s in ("A", "B")}
    available = rng.random(m) < 0.8
    on_table = np.ascontiguousarray(np.broadcast_to(available[:, None], (m, n)))
    ceilings = {s: lazy.peace_ceiling(val[s], deals[s].deals(layout_by_terms=True), n) for s in ("A", "B")}
    floor = {}
    for s in ("A", "B"):
        column = ceilings[s][rng.integers(0, m, n), np.arange(n)]
        floor[s] = np.select([rng.random(n) < 0.1, rng.random(n) < 0.5], [np.nan, column], column - 0.5 + rng.random(n))
    every = available[:, None] & ~(ceilings["A"] < floor["A"]) & ~(ceilings["B"] < floor["B"])
    for first, second in (("A", "B"), ("B", "A")):
        open_first = screen._terms_open(
            lazy, val[first], deals[first].deals(layout_by_terms=True), on_table, floor[first]
        )
        assert np.array_equal(open_first, available[:, None] & ~(ceilings[first] < floor[first]))
        possible = screen._deal_possible(lazy, open_first, val[second], deals[second], floor[second])
        assert np.array_equal(possible, every.any(axis=0))
    terms, rows = np.nonzero(rng.random((m, n)) < 0.5)
    at = lazy.peace_ceiling_at(val["B"], rows, deals["B"].deals_at(rows, terms))
    assert np.array_equal(bits(at), bits(ceilings["B"][terms, rows]))
    # the ceilings bound the values
    for s in ("A", "B"):
        assert np.all(peace(val[s], deals[s]).T <= ceilings[s])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_peace_value_lies_between_its_floor_and_ceiling(n: int, seed: int) -> None:
    args = _peace_arguments(np.random.default_rng(seed), n)
    value = leader.peace_series(*args)
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
    base_rate, shock, shock_months, delta, flow_part, shock_cost = args
    amp = shock / (1.0 - np.exp(-1.0 / shock_months))
    certified = amp <= leader.CEILING_MAX_AMPLITUDE
    value = leader.peace_series(*args)[certified]
    floor = leader.peace_value_bounds(*args)[0][certified]
    scale = (np.abs(flow_part) + np.abs(shock_cost) + 1.0) / (1.0 - delta * np.exp(-base_rate))
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
    with np.errstate(invalid="ignore"):
        args = (base_rate, shock, months, delta, 1.0 - base_rate * punishment, shock * punishment)
    ceiling = leader.peace_value_ceiling(*args)
    assert np.all(ceiling == np.inf)
    floor, _ = leader.peace_value_bounds(*args)
    assert np.all(floor == -np.inf)
    assert np.isfinite(leader.peace_value_ceiling(*(np.float64(x) for x in (0.01, 0.05, 6.0, 0.99, 0.8, 1.0))))


# --- fighting on, combat power ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), months=st.integers(0, 24), seed=st.integers(0, 2**32 - 1))
def test_fight_terms_compose_to_fight_value(n: int, months: int, seed: int) -> None:
    """The myopic leader values fighting on twice a month from one ``(now, then)``: the same bits as
    fighting ``months`` at the month's cash flow (office and policy outcome) and today's hazard, then the
    continuation; with no policy weight, the office's kernel on the flow and the punishment at war."""
    rng = np.random.default_rng(seed)
    val = random_valuation(rng, n)
    now, then = val.fight_terms(months)
    zero = np.zeros(n)
    for continuation in (val.stay, rng.random(n) * 200.0 - 50.0):
        direct = leader.fight_value(val.war_cashflow, val.rate_war, zero, val.delta, months, continuation)
        assert np.array_equal(bits(now + then * continuation), bits(direct))
    office = replace(val, policy_weight=zero)
    now, then = office.fight_terms(months)
    direct = leader.fight_value(val.flow, val.rate_war, val.punishment_war, val.delta, months, val.stay)
    assert np.array_equal(bits(now + then * val.stay), bits(direct))


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
