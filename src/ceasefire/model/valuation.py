"""A leader's valuation of the terms on the table and of fighting on, on the paths at war.

Victory scores (:mod:`ceasefire.model.bargaining`) turn the battlefield and the terms into the
leader's own measure of success; :mod:`ceasefire.model.leader` turns hazards and scores into
values of office (months of office, discounted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import bargaining, hazard, leader
from ceasefire.model.world import Side
from ceasefire.scenario.schema import SIDES, Scenario
from ceasefire.solve import bargaining_range

Array = NDArray[np.float64]
_V = TypeVar("_V")

TRANSITION_REASONS = ("war_economy", "bonuses_and_wages", "veterans", "risk_of_change", "need_for_victory")


@dataclass(frozen=True)
class Structure:
    """The scenario's discrete structure as arrays: objectives, aims and terms."""

    n_objectives: int
    terms: tuple[str, ...]
    available_from: NDArray[np.int64]
    guarantees: NDArray[np.bool_]
    sanctions_relief: NDArray[np.float64]
    concession_to_a: NDArray[np.float64]
    aim_weights: dict[str, NDArray[np.float64]]
    aim_objective: dict[str, NDArray[np.int64]]
    aim_lost: dict[str, NDArray[np.bool_]]
    granted: dict[str, NDArray[np.bool_]]
    levers: tuple[str, ...]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Structure:
        objective_index = {o.id: i for i, o in enumerate(scenario.objectives)}
        weights, objective, lost, granted = {}, {}, {}, {}
        for side in SIDES:
            aims = scenario.leaders[side].aims  # type: ignore[index]
            weights[side] = np.array([a.weight for a in aims], dtype=float)
            objective[side] = np.array(
                [objective_index[a.objective] if a.objective else -1 for a in aims], dtype=np.int64
            )
            lost[side] = np.array([a.effect == "lost_by" for a in aims], dtype=bool)
            granted[side] = np.array([[a.id in t.grants for t in scenario.terms] for a in aims], dtype=bool)
        return cls(
            n_objectives=len(scenario.objectives),
            terms=tuple(t.id for t in scenario.terms),
            available_from=np.array([t.available_from for t in scenario.terms], dtype=np.int64),
            guarantees=np.array([t.security_guarantees for t in scenario.terms], dtype=bool),
            sanctions_relief=np.array([t.sanctions_relief for t in scenario.terms], dtype=float),
            concession_to_a=np.array([t.concession_to_A for t in scenario.terms], dtype=float),
            aim_weights=weights,
            aim_objective=objective,
            aim_lost=lost,
            granted=granted,
            levers=tuple(lv.id for lv in scenario.levers),
        )

    def concessions(self, side: str) -> NDArray[np.float64]:
        """Concession each terms option gives the side's leader beyond his aims."""
        return self.concession_to_a if side == "A" else np.zeros(len(self.terms))


LAZY_RESERVATION = 2048
"""Paths from which :meth:`Valuation.reservation_score` values only the grid points it reads (the
flagship's optimal policy, 10 x 20,000 paths, one worker, its range on blocks of 4,096 paths: 4.07 s
valuing every point, 3.89 s valuing those; on a few hundred paths the calls cost more than they save)."""


@dataclass(frozen=True)
class Valuation:
    """One leader's values on a set of paths: each terms option now, and fighting on forever.

    ``flow - rate_war * punishment_war`` is the month's value while fighting and
    ``delta * exp(-rate_war)`` the discount-and-survival factor to the next month, so that
    ``stay = (flow - rate_war * punishment_war) / (1 - delta exp(-rate_war))``.
    """

    peace_now: Array  # (n, terms)
    stay: Array  # fighting on forever at the current hazard
    flow: Array
    rate_war: Array
    punishment_war: Array
    delta: Array
    rate_peace: Array
    shock_total: Array
    punishment: Array
    lost_war: Array
    tau: Array
    gamma: Array

    @classmethod
    def of(
        cls,
        sd: Side,
        successor: NDArray[np.bool_],
        idx: NDArray[np.int64] | slice,
        war_log: Array,
        peace_log: Array,
        v_battle: Array,
        v_now: Array | None,
    ) -> Valuation:
        """Values on the paths ``idx`` (``war_log``, ``peace_log`` and scores already restricted to them)."""
        succ = successor[idx]
        rate0 = sd.rate0(successor)[idx]
        rate_war = hazard.war_rate(rate0, war_log)
        rate_peace = hazard.peace_base_rate(rate0, peace_log, sd.reason("legitimacy", successor)[idx])
        shock_total = sum((sd.reason(r, successor)[idx] for r in TRANSITION_REASONS), np.zeros(succ.size))
        pun = sd.reason("punishment", successor)[idx]
        lost_war = sd.ld["punishment_lost_war"][idx]
        delta, tau, gamma = sd.ld["discount"][idx], sd.ld["shock_months"][idx], sd.ld["victory_relief"][idx]
        flow = 1.0 + sd.reason("militarism", successor)[idx]
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        stay = leader.stationary_value(flow, rate_war, pun_war, delta)
        empty = np.zeros((succ.size, 0))
        out = cls(empty, stay, flow, rate_war, pun_war, delta, rate_peace, shock_total, pun, lost_war, tau, gamma)
        return out if v_now is None else replace(out, peace_now=out.peace(v_now))

    def take(self, rows: NDArray[np.bool_] | NDArray[np.int64]) -> Valuation:
        """The values on a subset of these paths (a mask or indices)."""
        return Valuation(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    def peace(self, v: Array) -> Array:
        """``(n, m)`` value of signing now on terms with victory scores ``v`` (shape ``(n, m)``)."""
        if v.ndim == 2 and v.shape[1] > 1:
            # valued as (m, n), the paths along rows: a path's quantities then broadcast over whole
            # rows rather than one short row per path (faster; the same arithmetic, element by element)
            return np.ascontiguousarray(self._peace(np.ascontiguousarray(v.T), lambda a: a).T)
        return self._peace(v, lambda a: a[:, None])

    def peace_ceiling(self, v_by_terms: Array) -> Array:
        """``(m, n)`` upper bounds on :meth:`peace` (:func:`.leader.peace_value_ceiling`) at scores laid
        out terms by paths, ``v_by_terms = v.T``: well under half its cost, enough to rule out terms
        whose value is clearly below another. Worked out in blocks of paths, whose temporaries stay in cache."""
        out = np.empty(v_by_terms.shape)
        for block in _path_blocks(*v_by_terms.shape):
            out[:, block] = self._peace(v_by_terms[:, block], partial(_columns, block), leader.peace_value_ceiling)
        return out

    def peace_at_least(self, v_by_terms: Array, threshold: Array) -> NDArray[np.bool_]:
        """``(m, n)``: whether the value of peace at scores laid out terms by paths reaches each path's
        ``threshold`` (``(n,)``), the booleans of ``peace(v_by_terms.T).T >= threshold``. Bounds on the
        value (:func:`.leader.peace_value_bounds`) settle most elements; only those between them are
        valued exactly."""
        floor, ceiling = np.empty(v_by_terms.shape), np.empty(v_by_terms.shape)
        for block in _path_blocks(*v_by_terms.shape):
            floor[:, block], ceiling[:, block] = self._peace(
                v_by_terms[:, block], partial(_columns, block), leader.peace_value_bounds
            )
        reached = floor >= threshold[None, :]
        terms, rows = np.nonzero((ceiling >= threshold[None, :]) & ~reached)
        if rows.size:
            reached[terms, rows] = self.peace_at(rows, v_by_terms[terms, rows]) >= threshold[rows]
        return reached

    def reservation_score(self, grid: Array, fight: Array) -> Array:
        """``(n,)`` :func:`.bargaining_range.reservation_score` of the values of peace on the victory
        scores ``grid`` (increasing, ``G`` points) against the values of fighting on ``fight``, with
        its bits; only the grid points it reads are valued exactly.

        It reads the first point accepted and the one before. Points whose ceiling
        (:meth:`peace_ceiling`) is below ``fight`` are certainly not accepted; the others are valued
        in order along the grid until one is accepted, then the point before the first accepted.
        Below :data:`LAZY_RESERVATION` paths every point is valued at once: the calls cost more
        than the arithmetic they save.
        """
        n = fight.size
        if n < LAZY_RESERVATION:
            return bargaining_range.reservation_score(self.peace(np.broadcast_to(grid, (n, grid.size))), grid, fight)
        maybe = ~(self.peace_ceiling(np.broadcast_to(grid[:, None], (grid.size, n))) < fight[None, :])
        first = np.zeros(n, dtype=np.int64)
        found = np.zeros(n, dtype=bool)
        v_hi = np.zeros(n)
        while True:
            rows = np.flatnonzero(maybe.any(axis=0) & ~found)
            if rows.size == 0:
                break
            j = np.argmax(maybe[:, rows], axis=0)  # each path's first point not yet ruled out
            values = self.peace_at(rows, grid[j])
            ok = values >= fight[rows]
            first[rows[ok]], found[rows[ok]], v_hi[rows[ok]] = j[ok], True, values[ok]
            maybe[j[~ok], rows[~ok]] = False
        v_lo = v_hi.copy()  # at the first point the point before is itself
        before = np.flatnonzero(found & (first > 0))
        v_lo[before] = self.peace_at(before, grid[first[before] - 1])
        return bargaining_range.interpolate_reservation(found, first, v_lo, v_hi, grid, fight)

    def peace_ceiling_at(self, rows: NDArray[np.int64], v: Array) -> Array:
        """``(k,)`` :meth:`peace_ceiling` of single elements, path ``rows[e]`` at victory score ``v[e]``,
        with the bits it has there (the bound is element-wise)."""
        return self._peace(v, partial(_at, rows), leader.peace_value_ceiling)

    def peace_at(self, rows: NDArray[np.int64], v: Array) -> Array:
        """``(k,)`` values of signing now of single elements: path ``rows[e]`` at victory score ``v[e]``.

        Each element's arithmetic is that of :meth:`peace` (the value of peace is element-wise), so
        ``peace_at(rows, v[rows, cols])`` equals ``peace(v)[rows, cols]`` bit for bit: the value of
        only the elements a decision reads costs only those.
        """
        return self._peace(v, partial(_at, rows))

    def peace_where(
        self, read: NDArray[np.bool_], scores: Callable[[NDArray[np.int64], NDArray[np.int64]], Array], fill: float
    ) -> Array:
        """``(n, m)``: :meth:`peace` where ``read``, ``fill`` elsewhere. ``scores(rows, terms)`` gives the
        victory scores of the elements read (``np.nonzero(read)``); each has the bits it has in
        ``peace``, and only those are computed."""
        rows, terms = np.nonzero(read)
        out = np.full(read.shape, fill)
        if rows.size:  # (an empty series would run to its last term)
            out[rows, terms] = self.peace_at(rows, scores(rows, terms))
        return out

    def best_peace(
        self, read: NDArray[np.bool_], scores: Callable[[NDArray[np.int64], NDArray[np.int64]], Array]
    ) -> Array:
        """``(n,)``: the largest :meth:`peace` of each path over its terms ``read`` (``-inf`` where none),
        with the bits of ``peace_where(read, scores, -inf).max(axis=1)``; only the elements read are
        valued."""
        # laid out terms by paths: the largest over a few terms is then a reduction along rows, many
        # times faster than along each path's short row (the same maximum of the same values)
        terms, rows = np.nonzero(np.ascontiguousarray(read.T))
        values = np.full(read.shape[::-1], -np.inf)
        if rows.size:
            values[terms, rows] = self.peace_at(rows, scores(rows, terms))
        return values.max(axis=0, initial=-np.inf)

    def with_peace_now(
        self, read: NDArray[np.bool_], scores: Callable[[NDArray[np.int64], NDArray[np.int64]], Array]
    ) -> Valuation:
        """These values with the terms valued (``peace_now``) only where ``read``, NaN elsewhere."""
        return replace(self, peace_now=self.peace_where(read, scores, np.nan))

    def _peace(self, v: Array, per_path: Callable[[Array], Array], value: Callable[..., _V] = leader.peace_value) -> _V:  # type: ignore[assignment]
        """The value of peace at scores ``v`` (or its ``value``, such as a bound), each path's quantities
        laid out by ``per_path``."""
        shock = hazard.transition_shock(per_path(self.shock_total), v, per_path(self.gamma))
        punishment = per_path(self.punishment * (1.0 + self.lost_war)) - per_path(self.punishment * self.lost_war) * v
        rate, months, delta = per_path(self.rate_peace), per_path(self.tau), per_path(self.delta)
        return value(rate, shock, months, punishment, delta)

    @property
    def war_cashflow(self) -> Array:
        """The month's value of fighting on, removal charged at its rate."""
        return self.flow - self.rate_war * self.punishment_war

    @property
    def war_discount(self) -> Array:
        """Discount times survival from this month to the next while fighting."""
        return self.delta * np.exp(-self.rate_war)

    def fight_then(self, months: int, continuation: Array) -> Array:
        """Value of fighting ``months`` more at today's hazard, then ``continuation``."""
        return leader.fight_value(self.flow, self.rate_war, self.punishment_war, self.delta, months, continuation)

    def fight_terms(self, months: int) -> tuple[Array, Array]:
        """``(now, then)`` with ``fight_then(months, c) = now + then * c``, the same bits, for several ``c``."""
        return leader.fight_terms(self.flow, self.rate_war, self.punishment_war, self.delta, months)


def _path_blocks(terms: int, paths: int) -> Iterator[slice]:
    """Blocks of paths of a terms-by-paths batch, :data:`.leader.PEACE_BLOCK` elements at most: the
    temporaries of a bound stay in cache."""
    cols = max(1, leader.PEACE_BLOCK // max(terms, 1))
    for lo in range(0, paths, cols):
        yield slice(lo, lo + cols)


def _at(rows: NDArray[np.int64], a: Array) -> Array:
    """A path's quantity on the paths ``rows`` (one element each)."""
    return a[rows]


def _columns(block: slice, a: Array) -> Array:
    """A path's quantity on the paths ``block``."""
    return a[block]


def elements(v: Array) -> Callable[[NDArray[np.int64], NDArray[np.int64]], Array]:
    """The scores ``v[rows, terms]`` of single elements, as :meth:`Valuation.peace_where` asks for them."""

    def at(rows: NDArray[np.int64], terms: NDArray[np.int64]) -> Array:
        return v[rows, terms]

    return at


def aim_progress(st: Structure, side: str, progress: Array) -> Array:
    """``(n, aims)`` progress on the objective each aim is tied to (0 where none)."""
    obj = st.aim_objective[side]
    padded = np.concatenate([progress, np.zeros((progress.shape[0], 1))], axis=1)
    return padded[:, np.where(obj >= 0, obj, progress.shape[1])]


def _aim_progress_at(st: Structure, side: str, progress: Array, rows: NDArray[np.int64]) -> Array:
    """``aim_progress(st, side, progress[rows])``, each tied aim's column taken straight from its objective's."""
    obj = st.aim_objective[side]
    out = np.zeros((rows.size, obj.size))
    for j in np.flatnonzero(obj >= 0):
        out[:, j] = progress[rows, obj[j]]
    return out


def untied(st: Structure, side: str) -> NDArray[np.bool_]:
    """``(aims,)``: the side's aims tied to no objective (their progress in :func:`aim_progress` is zero)."""
    return st.aim_objective[side] < 0


def victory(
    st: Structure, side: str, progress: Array, sd: Side, idx: NDArray[np.int64] | slice, *, by_terms: bool = False
) -> Array:
    """``(len(idx), terms)`` victory scores of every terms option for one side's leader.

    Computed terms by paths (a path's numbers broadcast along whole rows, not one short row per path:
    faster, the same arithmetic element by element) and returned paths by terms, or as computed
    (``(terms, len(idx))``) with ``by_terms``.
    """
    score = bargaining.weighted_attainment(
        st.granted[side],
        aim_progress(st, side, progress),
        st.aim_lost[side],
        st.aim_weights[side],
        untied(st, side),
        by_terms=True,
    )
    received, offered = _concessions(st, side, sd, idx)
    concession = received[None, :] + st.concessions(side)[:, None]
    v = bargaining.victory_from_score(
        score, sd.ld["aspiration"][idx], concession, offered, sd.ld["reasons.opportunism"][idx], by_terms=True
    )
    return v if by_terms else np.ascontiguousarray(v.T)


def victory_at(
    st: Structure,
    side: str,
    progress: Array,
    sd: Side,
    idx: NDArray[np.int64] | slice,
    rows: NDArray[np.int64],
    terms: NDArray[np.int64],
) -> Array:
    """``(k,)`` victory scores of single elements, terms ``terms[e]`` on path ``rows[e]``: the same
    bits as ``victory(st, side, progress, sd, idx)[rows, terms]``, at the cost of those alone."""
    at = (idx if isinstance(idx, np.ndarray) else np.arange(sd.ld["aspiration"].size)[idx])[rows]
    score = bargaining.weighted_attainment_at(
        st.granted[side],
        _aim_progress_at(st, side, progress, rows),
        st.aim_lost[side],
        st.aim_weights[side],
        terms,
        untied(st, side),
    )
    received, offered = _concessions(st, side, sd, at)
    concession = received + st.concessions(side)[terms]
    return bargaining.victory_from_score(
        score[:, None], sd.ld["aspiration"][at], concession[:, None], offered, sd.ld["reasons.opportunism"][at]
    )[:, 0]


def _concessions(st: Structure, side: str, sd: Side, idx: NDArray[np.int64] | slice) -> tuple[Array, Array]:
    """Concessions the leader has received outside the terms, and every concession offered to him
    (those plus the largest the terms on the table give): the ratchet acts on the latter."""
    concession_terms = st.concessions(side)
    received = sd.ld["concession_received"][idx]
    return received, received + (concession_terms.max() if concession_terms.size else 0.0)


def victory_battlefield(st: Structure, side: str, progress: Array, sd: Side, idx: NDArray[np.int64] | slice) -> Array:
    """Victory score of the battlefield alone (no terms): what a removal during the war is judged by.

    An aim that A's progress defeats is still held while not lost, which is the attainment of a
    grant (``g (1 - p)`` with ``g = 1``); an aim that progress achieves is met as far as taken.
    """
    held = st.aim_lost[side][:, None]
    score = bargaining.weighted_attainment(
        held, aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side], untied(st, side)
    )
    received = sd.ld["concession_received"][idx]
    return bargaining.victory_from_score(
        score, sd.ld["aspiration"][idx], received[:, None], received, sd.ld["reasons.opportunism"][idx]
    )[:, 0]


def stake_shift(st: Structure, side: str, sd: Side, idx: NDArray[np.int64] | slice) -> Array:
    """``s`` in ``v = clip(x - s, 0, 1)``: the victory score of a deal giving the leader a share ``x`` of the stake.

    The stake is his aims' weighted attainment (``score``); his aspiration, the ratchet on every
    concession offered to him and the concessions he holds shift it.
    """
    received, offered = _concessions(st, side, sd, idx)
    return sd.ld["aspiration"][idx] + sd.ld["reasons.opportunism"][idx] * offered - received - 1.0
