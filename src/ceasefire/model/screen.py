"""NumPy's fast path of the month's decision: value only the elements a decision reads, the same bits.

:func:`ceasefire.model.decision.decide` values every terms option of both leaders on every path at
war. Most of those values cannot change the decision: a terms option whose value of peace is
certainly below a leader's value of fighting on is refused whatever its exact value. This module
works out the same decision reading fewer values:

* **bounds first**: the value of peace is bounded cheaply (:func:`.leader.peace_value_bounds`); the
  terms whose ceiling is below a leader's floor (his value of fighting on, or a lower bound on it) are
  refused without being valued. :data:`SCREEN_FIRST`'s bounds are read on every path at war, the other
  leader's only where the first leaves some terms open; paths where no terms can suit both need no
  exact value at all;
* **element by element**: the value of peace and the victory scores are element-wise, so a subset of
  the ``(path, terms)`` elements valued alone has the bits it has in the full table
  (:func:`peace_at`, :func:`.valuation.victory_at`);
* **lazily**: with the optimal policy B's terms are valued only where A gains; a myopic leader's value
  of peace later only on the terms the other accepts; in a leader's imagined war, his terms only where
  the other accepts them; a reservation score reads only the grid points it needs.

:class:`Lazy` answers :class:`.valuation.Exact`'s questions this way, and :func:`decide` gives
:func:`.decision.decide`'s decision; ``tests/test_screen.py`` checks both, bit for bit, switching the
screen on and off (:attr:`ceasefire.model.engine.RunConfig.screen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import bargaining, bargaining_range, leader
from ceasefire.model.backend import NUMPY
from ceasefire.model.decision import (
    RANGE_GRID,
    Decision,
    Policy,
    Situation,
    leaders_values,
    myopic_fight_on,
    narrowed,
    rule_fight_on,
)
from ceasefire.model.params import SIDES, Array, Pair, other, rows_of
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import (
    Deals,
    Exact,
    Layout,
    TermScores,
    Valuation,
    at_rows,
    battle_deals,
    by_terms,
    grid_deals,
    stake_shift,
)

SCREEN_FIRST = "B"
"""The leader whose bounds on the value of peace the screen reads first, on every path at war; the
other's are read only on the elements he leaves open, and (with the optimal policy) the other's rule
only on the paths where he leaves some terms open. On the flagship B leaves about half the paths open
and a third of the elements, A nine paths in ten and a quarter of the elements (2 samples x 20,000
paths, 12 months)."""

LAZY_RESERVATION = 2048
"""Paths from which a reservation score values only the grid points it reads (the flagship's optimal
policy, 10 x 20,000 paths, one worker, its range on blocks of 4,096 paths: 4.07 s valuing every point,
3.89 s valuing those; on a few hundred paths the calls cost more than they save)."""


def _columns(block: slice, a: Array) -> Array:
    """A path's quantity on the paths ``block``, laid out terms by paths."""
    return a[None, block] if np.ndim(a) else a


def _deals_columns(block: slice | NDArray[np.int64], a: Array) -> Array:
    """A deal's field laid out terms by paths ``(terms, paths or 1)``, on the paths ``block``."""
    return a[:, block] if a.ndim == 2 and a.shape[1] > 1 else a


def _path_blocks(terms: int, paths: int) -> Iterator[slice]:
    """Blocks of paths of a terms-by-paths batch, :data:`.leader.PEACE_BLOCK` elements at most: the
    temporaries of a bound stay in cache."""
    cols = max(1, leader.PEACE_BLOCK // max(terms, 1))
    for lo in range(0, paths, cols):
        yield slice(lo, lo + cols)


class Lazy(Exact):
    """:class:`.valuation.Exact`'s answers, valuing exactly only the elements they depend on (NumPy).

    A deal's value is its office part (the series :func:`.leader.peace_series`) and its policy part
    (exact, from two series per path: :meth:`holds`); the office part is bounded cheaply
    (:func:`.leader.peace_value_bounds`), and the value is increasing in it, so bounds on the office
    part are bounds on the value.
    """

    def __init__(self) -> None:
        super().__init__(NUMPY)

    def _value(
        self, val: Valuation, deals: Deals, layout: Layout, kernel: Callable[..., Any] = leader.peace_series
    ) -> Any:
        """The value of ``deals`` (laid out by ``layout``), or with ``kernel`` a bound on it (or a pair)."""
        office = kernel(*val.office_arguments(deals, layout))
        holds = self.holds(val)
        if isinstance(office, tuple):
            return tuple(val.combine(deals, o, holds, layout) for o in office)
        return val.combine(deals, office, holds, layout)

    def peace_at(self, val: Valuation, rows: NDArray[np.int64], deals: Deals) -> Array:
        """``(k,)`` values of single elements, path ``rows[e]`` on deal ``deals[e]``: the bits they have in
        the full table (every quantity is element-wise)."""
        return self._value(val, deals, partial(at_rows, rows))  # type: ignore[no-any-return]

    def peace_ceiling(self, val: Valuation, deals: Deals, paths: int) -> Array:
        """``(terms, paths)`` upper bounds on the values of ``deals`` laid out terms by paths: well under half
        the cost, enough to rule out terms clearly below another. Worked out in blocks of paths."""
        terms = np.shape(deals.victory)[0]
        out = np.empty((terms, paths))
        for block in _path_blocks(terms, paths):
            part = deals.at(partial(_deals_columns, block))
            out[:, block] = self._value(val, part, partial(_columns, block), leader.peace_value_ceiling)
        return out

    def peace_ceiling_at(self, val: Valuation, rows: NDArray[np.int64], deals: Deals) -> Array:
        """``(k,)`` :meth:`peace_ceiling` of single elements, with the bits it has there."""
        return self._value(val, deals, partial(at_rows, rows), leader.peace_value_ceiling)  # type: ignore[no-any-return]

    def reaches(self, val: Valuation, scores: TermScores, threshold: Array) -> Array:
        """``(paths, terms)`` booleans of ``values >= threshold``: bounds on the value settle most
        elements; only those between them are valued."""
        deals = scores.deals(layout_by_terms=True)
        terms, n = np.shape(deals.victory)
        floor, ceiling = np.empty((terms, n)), np.empty((terms, n))
        for block in _path_blocks(terms, n):
            part = deals.at(partial(_deals_columns, block))
            floor[:, block], ceiling[:, block] = self._value(
                val, part, partial(_columns, block), leader.peace_value_bounds
            )
        reached = floor >= threshold[None, :]
        which, rows = np.nonzero((ceiling >= threshold[None, :]) & ~reached)
        if rows.size:
            reached[which, rows] = self.peace_at(val, rows, scores.deals_at(rows, which)) >= threshold[rows]
        return reached.T

    def best(self, val: Valuation, read: Array, scores: TermScores) -> Array:
        """``(paths,)`` the largest value over each path's terms ``read``; only those are valued."""
        # laid out terms by paths: the largest over a few terms is then a reduction along rows, many
        # times faster than along each path's short row (the same maximum of the same values)
        terms, rows = np.nonzero(np.ascontiguousarray(read.T))
        values = np.full(read.shape[::-1], -np.inf)
        if rows.size:
            values[terms, rows] = self.peace_at(val, rows, scores.deals_at(rows, terms))
        return values.max(axis=0, initial=-np.inf)

    def problem_values(
        self,
        val_other: Valuation,
        scores_other: TermScores,
        available: Array,
        vals: Sequence[Valuation],
        battle: Deals,
        scores: TermScores,
    ) -> tuple[Array, list[Array], list[Array]]:
        """:meth:`.valuation.Exact.problem_values`: the other's acceptance from bounds, the leader's terms
        valued only where accepted."""
        accepted = self.reaches(val_other, scores_other, val_other.stay) & available
        here = [self.values([(v, battle)])[0][..., 0] for v in vals]
        scores.by_paths()  # every element is read by some valuation's best
        return accepted, here, [self.best(v, accepted, scores) for v in vals]

    def reservation(self, val: Valuation, grid: Array, fight: Array) -> Array:
        """The reservation score, valuing the grid points it reads: points whose ceiling is below ``fight``
        are certainly not accepted; the others are valued in order until one is, then the point before."""
        n = fight.size
        if n < LAZY_RESERVATION:
            return super().reservation(val, grid, fight)
        maybe = ~(self.peace_ceiling(val, grid_deals(grid[:, None]), n) < fight[None, :])
        first = np.zeros(n, dtype=np.int64)
        found = np.zeros(n, dtype=bool)
        v_hi = np.zeros(n)
        while True:
            rows = np.flatnonzero(maybe.any(axis=0) & ~found)
            if rows.size == 0:
                break
            j = np.argmax(maybe[:, rows], axis=0)  # each path's first point not yet ruled out
            values = self.peace_at(val, rows, grid_deals(grid[j]))
            ok = values >= fight[rows]
            first[rows[ok]], found[rows[ok]], v_hi[rows[ok]] = j[ok], True, values[ok]
            maybe[j[~ok], rows[~ok]] = False
        v_lo = v_hi.copy()  # at the first point the point before is itself
        before = np.flatnonzero(found & (first > 0))
        v_lo[before] = self.peace_at(val, before, grid_deals(grid[first[before] - 1]))
        return bargaining_range.interpolate_reservation(found, first, v_lo, v_hi, grid, fight)


def _terms_open(
    lazy: Lazy, val: Valuation, deals: Deals, available: NDArray[np.bool_], floor: Array
) -> NDArray[np.bool_]:
    """``(terms, paths)``: the terms that might suit a leader, those available (``(terms, paths)``) whose
    value is not certainly below ``floor`` (a lower bound on his value of fighting on, or that value). An
    undecided comparison (NaN) leaves the terms open."""
    return available & ~(lazy.peace_ceiling(val, deals, floor.size) < floor[None, :])


def _deal_possible(
    lazy: Lazy, open_first: NDArray[np.bool_], val: Valuation, scores: TermScores, floor: Array
) -> NDArray[np.bool_]:
    """``(paths,)``: paths on which some terms might suit both leaders this month: ``open_first`` are
    the terms the first leader's bounds leave open; the other's bounds are read only on those. Where,
    for every terms, one leader's ceiling is below his floor, nothing is chosen; a NaN leaves it open."""
    terms, rows = np.nonzero(open_first)
    ceiling_at = lazy.peace_ceiling_at(val, rows, scores.deals_at(rows, terms))
    possible = np.zeros(open_first.shape[1], dtype=bool)
    possible[rows[~(ceiling_at < floor[rows])]] = True
    return possible


def _myopic_floor(val: Valuation, lookahead: int) -> Array:
    """A lower bound on a myopic leader's value of fighting on: fighting the look-ahead, then on forever."""
    now, then = val.fight_terms(lookahead)
    return now + then * val.stay


def _range(
    st: Structure,
    lazy: Lazy,
    sit: Situation,
    val: dict[str, Valuation],
    fight_on: dict[str, Array],
    keep: NDArray[np.bool_],
) -> tuple[Array, Array]:
    """The bargaining range on the paths ``keep`` (``(paths,)`` with NaN elsewhere)."""
    whole = bool(keep.all())
    res = {}
    for s in SIDES:
        v = val[s] if whole else val[s].take(keep)
        res[s] = lazy.reservation(v, RANGE_GRID, fight_on[s] if whole else fight_on[s][keep])
    ld = sit.leaders if whole else rows_of(sit.leaders, np.flatnonzero(keep))
    low, high = bargaining_range.bargaining_range(
        res["A"], stake_shift(st, "A", ld.A), res["B"], stake_shift(st, "B", ld.B)
    )
    n = keep.size
    out_low, out_high = np.full(n, np.nan), np.full(n, np.nan)
    out_low[keep], out_high[keep] = low, high
    return out_low, out_high


def decide(st: Structure, policy: Policy, sit: Situation, t: int, keep: NDArray[np.bool_]) -> Decision:
    """:func:`.decision.decide` on the paths of ``sit`` (all at war), valuing only what the decision
    reads; the bargaining range on the paths ``keep``. The same decision, bit for bit."""
    lazy = Lazy()
    n = keep.size
    available = sit.available
    optimal = policy.name == "optimal"
    val, battle, held, scores = leaders_values(st, sit)
    for s in SIDES:
        scores[s].by_terms()  # terms by paths, as the screen reads them
    first, later = SCREEN_FIRST, other(SCREEN_FIRST)
    fight_on: dict[str, Array] = {}
    if optimal:
        # the other leader's rule is read only where the first leader's bounds leave some terms open, or
        # the range is recorded: elsewhere no terms suit the first
        fight_on[first] = _rule(lazy, policy, first, t, sit, val[first], battle[first], held[first])
        floor = fight_on  # the same dict: the later leader's values, filled in below, are his floor
    else:
        floor = {s: _myopic_floor(val[s], policy.lookahead) for s in SIDES}
    on_table = np.ascontiguousarray(available.T)
    open_first = _terms_open(lazy, val[first], scores[first].deals(layout_by_terms=True), on_table, floor[first])
    if optimal:
        need = np.flatnonzero(open_first.any(axis=0) | keep)
        fight_on[later] = np.full(n, np.nan)  # not read where the first refuses every terms
        fight_on[later][need] = _rule(
            lazy, policy, later, t, narrowed(sit, need), val[later].take(need), battle[later][need], held[later][need]
        )
    low = high = np.full(n, np.nan)
    if optimal and keep.any():  # the range needs no values of the terms: now
        low, high = _range(st, lazy, sit, val, fight_on, keep)
    possible = _deal_possible(lazy, open_first, val[later], scores[later], floor[later])
    rows = np.flatnonzero(possible if optimal else possible | keep)  # the optimal range is recorded
    narrow = narrowed(sit, rows)
    v = {s: val[s].take(rows) for s in SIDES}
    fight = {s: f[rows] for s, f in fight_on.items()}
    deals = {s: scores[s].deals(layout_by_terms=True).at(partial(_deals_columns, rows)) for s in SIDES}
    peace_now = {s: _peace(lazy, v[s], deals[s]) for s in SIDES if s == "A" or not optimal}
    on_table_rows = available[rows]
    if not optimal:
        pair = myopic_fight_on(
            lazy, narrow, st, Pair(v["A"], v["B"]), Pair(peace_now["A"], peace_now["B"]), on_table_rows,
            policy.lookahead,
        )  # fmt: skip
        fight = dict(pair.items())
    else:
        # B's terms valued only where A gains: NaN elsewhere, where no terms are chosen either way
        read = (peace_now["A"] - fight["A"][:, None] >= 0.0) & on_table_rows
        peace_now["B"] = _peace_where(lazy, v["B"], read, scores["B"], rows, np.nan)
    gains = {s: peace_now[s] - fight[s][:, None] for s in SIDES}
    if not optimal and keep.any():  # the myopic leaders' range, which reads their values of fighting on
        kept = keep[rows]
        if kept.any():
            low_k, high_k = _range(st, lazy, narrow, v, fight, kept)
            low, high = np.full(n, np.nan), np.full(n, np.nan)
            low[rows], high[rows] = low_k, high_k
    choice_rows = bargaining.choose_terms(gains["A"], gains["B"], on_table_rows)
    choice = np.full(n, -1, dtype=np.int64)
    choice[rows] = choice_rows
    acceptable = np.zeros((n, len(st.terms)), dtype=bool)
    acceptable[rows] = (gains["A"] >= 0.0) & (gains["B"] >= 0.0) & on_table_rows
    return Decision(
        choice=choice,
        acceptable=acceptable,
        v_battle=Pair(battle["A"], battle["B"]),
        victory=Pair.of(lambda s: np.ascontiguousarray(scores[s].by_terms().T)),
        attainment=Pair.of(lambda s: np.ascontiguousarray(scores[s].deals(layout_by_terms=True).attainment.T)),
        range_low=low,
        range_high=high,
    )


def _rule(
    lazy: Lazy, policy: Policy, side: str, t: int, sit: Situation, val: Valuation, v_battle: Array, h_battle: Array
) -> Array:
    """The leader's rule's value of fighting on, on the paths of ``sit`` (``val`` and the battlefield on them)."""
    (peace_here,) = lazy.values([(val, battle_deals(v_battle, h_battle))])
    return rule_fight_on(policy, side, t, val, peace_here[:, 0], v_battle, sit)


def _peace(lazy: Lazy, val: Valuation, deals_by_terms: Deals) -> Array:
    """``(paths, terms)`` values of peace, worked out terms by paths (a path's quantities broadcast over
    whole rows: faster, the same arithmetic element by element)."""
    return np.ascontiguousarray(lazy._value(val, deals_by_terms, by_terms).T)


def _peace_where(
    lazy: Lazy, val: Valuation, read: NDArray[np.bool_], scores: TermScores, paths: NDArray[np.int64], fill: float
) -> Array:
    """``(paths, terms)``: the value of peace where ``read``, ``fill`` elsewhere; only those elements are
    valued (``val`` on the paths ``paths`` of ``scores``)."""
    rows, terms = np.nonzero(read)
    out = np.full(read.shape, fill)
    if rows.size:  # (an empty series would run to its last term)
        out[rows, terms] = lazy.peace_at(val, rows, scores.deals_at(paths[rows], terms))
    return out
