"""A leader's valuation of the terms on the table and of fighting on, on a set of paths.

Victory scores (:mod:`.bargaining`) turn the battlefield and the terms into the leader's own measure
of success; :mod:`.hazard` and :mod:`.leader` turn hazards and scores into values of office (months of
office, discounted). Written once over the arguments' array namespace: the NumPy engine values the
paths still at war, the JAX engine every path of a sample, the explanation every variant of the
leader's parameters at once (leading axes, broadcast against the paths).

:class:`Exact` values every element asked for; :mod:`.screen` values only the elements a decision
reads (NumPy's fast path), with the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ceasefire.model import bargaining, bargaining_range, hazard, leader
from ceasefire.model.backend import Backend, PeaceArguments
from ceasefire.model.params import PERSON_TIED, TRANSITION_REASONS, Array, Leader
from ceasefire.model.structure import Structure
from ceasefire.model.xp import namespace

Layout = Callable[[Array], Array]
"""How a path's quantity is laid out against the scores: ``a[..., None]`` (paths by terms) or
``a[None, ...]`` (terms by paths), or its elements picked (:func:`at_rows`)."""


def by_paths(a: Array) -> Array:
    return a[..., None]


def by_terms(a: Array) -> Array:
    return a[None, ...]


def reason(ld: Leader, name: str, successor: Array | None) -> Array:
    """A named reason of the calculus; a successor keeps ``1 - reset`` of the person-tied ones."""
    value = getattr(ld.reasons, name)
    if successor is None or name not in PERSON_TIED:
        return value
    return namespace(successor, value).where(successor, value * (1.0 - ld.successor.reset), value)


def rate0(ld: Leader, successor: Array | None) -> Array:
    """Monthly removal rate at the start's state, an incumbent's or (where ``successor``) a successor's."""
    base = hazard.monthly_rate_from_annual(ld.base_hazard)
    if successor is None:
        return base
    return namespace(successor, base).where(successor, base * ld.successor.hazard_multiplier, base)


def transition_total(ld: Leader, successor: Array | None) -> Array:
    """``J``: the peak extra monthly hazard of a settlement, the transition reasons summed (3-5, 7)."""
    total: Array = 0.0
    for r in TRANSITION_REASONS:
        total = total + reason(ld, r, successor)
    return total


def removal_rates(
    ld: Leader,
    successor: Array | None,
    casualty_ratio: Array,
    pain: Array,
    stability_loss: Array,
    war_log_shift: Array | None = None,
) -> tuple[Array, Array]:
    """The leader's monthly removal rates in the state: at war, and in peace once the transition shock
    has passed (the war's legitimacy gone, the casualty term at zero) (:mod:`.hazard`).
    ``war_log_shift`` is added to the log-hazard at war only."""
    slog = hazard.state_log_hazard(
        casualty_ratio, pain, stability_loss, ld.casualty_hazard, ld.pain_hazard, ld.instability_hazard
    )
    peace_log = slog - ld.casualty_hazard * casualty_ratio
    base = rate0(ld, successor)
    rate_war = hazard.war_rate(base, slog if war_log_shift is None else slog + war_log_shift)
    return rate_war, hazard.peace_base_rate(base, peace_log, reason(ld, "legitimacy", successor))


@dataclass(frozen=True)
class Valuation:
    """One leader's values on a set of paths: the terms valued now, and fighting on forever.

    ``flow - rate_war * punishment_war`` is the month's value while fighting and
    ``delta * exp(-rate_war)`` the discount-and-survival factor to the next month, so that
    ``stay = (flow - rate_war * punishment_war) / (1 - delta exp(-rate_war))``.
    """

    stay: Array
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
        ld: Leader,
        successor: Array | None,
        casualty_ratio: Array,
        pain: Array,
        stability_loss: Array,
        v_battle: Array,
        war_log_shift: Array | None = None,
    ) -> Valuation:
        """Values of the leader ``ld`` given the state (the month's casualty ratio, pain, lost stability)
        and the battlefield's victory score. ``successor`` marks the paths led by a successor (``None``:
        an incumbent everywhere); ``war_log_shift`` is added to his log-hazard at war only (another
        leader's doubt of his resolve)."""
        rate_war, rate_peace = removal_rates(ld, successor, casualty_ratio, pain, stability_loss, war_log_shift)
        shock_total = transition_total(ld, successor)
        pun = reason(ld, "punishment", successor)
        lost_war = ld.punishment_lost_war
        flow = 1.0 + reason(ld, "militarism", successor)
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        stay = leader.stationary_value(flow, rate_war, pun_war, ld.discount)
        return cls(
            stay, flow, rate_war, pun_war, ld.discount, rate_peace, shock_total, pun, lost_war,
            ld.shock_months, ld.victory_relief,
        )  # fmt: skip

    def take(self, rows: Any) -> Valuation:
        """The values on a subset of these paths (a mask or indices); a number stays as it is."""
        return Valuation(*(_rows(getattr(self, f.name), rows) for f in fields(self)))

    def peace_arguments(self, v: Array, layout: Layout = by_paths) -> PeaceArguments:
        """The arguments of the value of peace at victory scores ``v``, each path's quantities laid out
        against them by ``layout``: the transition shock scaled down by victory (reason 7), the
        punishment raised for a lost war."""
        shock = hazard.transition_shock(layout(_arr(self.shock_total)), v, layout(_arr(self.gamma)))
        punishment = (
            layout(_arr(self.punishment * (1.0 + self.lost_war))) - layout(_arr(self.punishment * self.lost_war)) * v
        )
        return layout(_arr(self.rate_peace)), shock, layout(_arr(self.tau)), punishment, layout(_arr(self.delta))

    @property
    def war_cashflow(self) -> Array:
        """The month's value of fighting on, removal charged at its rate."""
        return self.flow - self.rate_war * self.punishment_war

    @property
    def war_discount(self) -> Array:
        """Discount times survival from this month to the next while fighting."""
        return self.delta * namespace(self.rate_war).exp(-self.rate_war)

    def fight_terms(self, months: int) -> tuple[Array, Array]:
        """``(now, then)``: fighting ``months`` more at today's hazard, then ``c``, is ``now + then * c``."""
        return leader.fight_terms(self.flow, self.rate_war, self.punishment_war, self.delta, months)


def _arr(a: Array) -> Array:
    """An array (a Python number becomes a 0-d NumPy array, which takes a new axis)."""
    return a if hasattr(a, "ndim") else np.asarray(a)


def _rows(a: Array, rows: Any) -> Array:
    return a[rows] if np.ndim(a) else a


# --- victory scores ------------------------------------------------------------------------------


def aim_progress(st: Structure, side: str, progress: Array) -> Array:
    """``(paths, aims)`` progress on the objective each aim is tied to (0 where none)."""
    xp = namespace(progress)
    obj = st.aim_objective[side]
    padded = xp.concatenate([progress, xp.zeros((*progress.shape[:-1], 1))], axis=-1)
    return padded[..., np.where(obj >= 0, obj, progress.shape[-1])]


def _aim_progress_at(st: Structure, side: str, progress: Array, rows: Any) -> Array:
    """``aim_progress(st, side, progress[rows])``, each tied aim's column taken straight from its objective's."""
    obj = st.aim_objective[side]
    out = np.zeros((rows.size, obj.size))
    for j in np.flatnonzero(obj >= 0):
        out[:, j] = progress[rows, obj[j]]
    return out


def concessions(st: Structure, side: str, ld: Leader) -> tuple[Array, Array]:
    """Concessions the leader has received outside the terms, and every concession offered to him
    (those plus the largest the terms on the table give): the ratchet acts on the latter."""
    terms = st.concessions(side)
    received = ld.concession_received
    return received, received + (terms.max() if terms.size else 0.0)


def victory(st: Structure, side: str, progress: Array, ld: Leader, *, layout_by_terms: bool = False) -> Array:
    """Victory scores of every terms option for one side's leader: ``(paths, terms)``, or ``(terms,
    paths)`` with ``layout_by_terms`` (one path's numbers along whole rows: faster in NumPy, the same
    arithmetic element by element). ``progress`` is ``(paths, objectives)``; the leader's parameters
    may carry leading axes of variants (paths by terms only)."""
    if not layout_by_terms and namespace(progress) is np and np.ndim(ld.aspiration) <= 1:
        # worked terms by paths (whole rows) and transposed: faster, the same elements
        return np.ascontiguousarray(victory(st, side, progress, ld, layout_by_terms=True).T)
    score = bargaining.weighted_attainment(
        st.granted[side], aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side],
        st.untied(side), by_terms=layout_by_terms,
    )  # fmt: skip
    received, offered = concessions(st, side, ld)
    layout = by_terms if layout_by_terms else by_paths
    given = st.concessions(side)
    concession = layout(_arr(received)) + (given[:, None] if layout_by_terms else given)
    return bargaining.victory_from_score(
        score, ld.aspiration, concession, offered, ld.reasons.opportunism, by_terms=layout_by_terms
    )


def victory_at(st: Structure, side: str, progress: Array, ld: Leader, rows: Any, terms: Any) -> Array:
    """``(k,)`` victory scores of single elements, terms ``terms[e]`` on path ``rows[e]``: the bits of
    ``victory(st, side, progress, ld)[rows, terms]`` at the cost of those alone (NumPy)."""
    score = bargaining.weighted_attainment_at(
        st.granted[side], _aim_progress_at(st, side, progress, rows), st.aim_lost[side], st.aim_weights[side],
        terms, st.untied(side),
    )  # fmt: skip
    received = _rows(ld.concession_received, rows)
    offered = received + (st.concessions(side).max() if len(st.terms) else 0.0)
    concession = received + st.concessions(side)[terms]
    return bargaining.victory_from_score(
        score[:, None], _rows(ld.aspiration, rows), concession[:, None], offered, _rows(ld.reasons.opportunism, rows)
    )[:, 0]


def victory_battlefield(st: Structure, side: str, progress: Array, ld: Leader) -> Array:
    """Victory score of the battlefield alone (no terms): what a removal during the war is judged by.

    An aim that A's progress defeats is still held while not lost, which is the attainment of a
    grant (``g (1 - p)`` with ``g = 1``); an aim that progress achieves is met as far as taken.
    """
    held = st.aim_lost[side][:, None]
    score = bargaining.weighted_attainment(
        held, aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side], st.untied(side)
    )
    received = _arr(ld.concession_received)
    return bargaining.victory_from_score(score, ld.aspiration, received[..., None], received, ld.reasons.opportunism)[
        ..., 0
    ]


def stake_shift(st: Structure, side: str, ld: Leader) -> Array:
    """``s`` in ``v = clip(x - s, 0, 1)``: the victory score of a deal giving the leader a share ``x`` of
    the stake (:mod:`.bargaining_range`). His aspiration, the ratchet on every concession offered to
    him and the concessions he holds shift it."""
    received, offered = concessions(st, side, ld)
    return ld.aspiration + ld.reasons.opportunism * offered - received - 1.0


class TermScores:
    """A leader's victory scores of every terms option on some paths, in the layout asked for (each
    computed once); single elements from the whole table when it exists, else on their own."""

    def __init__(self, st: Structure, side: str, progress: Array, ld: Leader) -> None:
        self.st, self.side, self.progress, self.ld = st, side, progress, ld
        self._by_paths: Array | None = None
        self._by_terms: Array | None = None

    def by_paths(self) -> Array:
        """``(paths, terms)``."""
        if self._by_paths is None:
            self._by_paths = victory(self.st, self.side, self.progress, self.ld)
        return self._by_paths

    def by_terms(self) -> Array:
        """``(terms, paths)``."""
        if self._by_terms is None:
            self._by_terms = victory(self.st, self.side, self.progress, self.ld, layout_by_terms=True)
        return self._by_terms

    def at(self, rows: Any, terms: Any) -> Array:
        """``(k,)`` the scores of terms ``terms[e]`` on path ``rows[e]`` (NumPy)."""
        if self._by_paths is not None:
            return self._by_paths[rows, terms]
        if self._by_terms is not None:
            return self._by_terms[terms, rows]
        return victory_at(self.st, self.side, self.progress, self.ld, rows, terms)


# --- values of peace, every element asked for ----------------------------------------------------


class Exact:
    """Values of peace of every element asked for, with the backend's kernel.

    :mod:`.screen` gives the same answers (bit for bit) valuing only the elements they depend on.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def values(self, requests: Sequence[tuple[Valuation, Array]]) -> list[Array]:
        """``(paths, m)`` values of signing now at each request's victory scores ``(paths, m)``."""
        return self.backend.peace_values([val.peace_arguments(v) for val, v in requests])

    def reaches(self, val: Valuation, scores: TermScores, threshold: Array) -> Array:
        """``(paths, terms)``: whether each terms option's value of peace reaches the path's ``threshold``."""
        (values,) = self.values([(val, scores.by_paths())])
        return values >= threshold[..., None]

    def best(self, val: Valuation, read: Array, scores: TermScores) -> Array:
        """``(paths,)``: the largest value of peace over each path's terms ``read`` (``-inf`` where none)."""
        (values,) = self.values([(val, scores.by_paths())])
        xp = namespace(values)
        return xp.max(xp.where(read, values, -xp.inf), axis=-1, initial=-xp.inf)

    def problem_values(
        self,
        val_other: Valuation,
        scores_other: TermScores,
        available: Array,
        vals: Sequence[Valuation],
        v_battle: Array,
        scores: TermScores,
    ) -> tuple[Array, list[Array], list[Array]]:
        """What a month of a stopping problem reads, every value asked of the backend at once: the terms
        the other accepts (his value of peace at least his value of fighting on forever, ``(..., paths,
        terms)``); for each of the leader's valuations ``vals``, his value of peace at the battlefield's
        score ``v_battle`` and the best of those accepted terms (``-inf`` where none)."""
        xp = namespace(v_battle)
        g = len(vals)
        values = self.values(
            [(val_other, scores_other.by_paths())]
            + [(v, v_battle[..., None]) for v in vals]
            + [(v, scores.by_paths()) for v in vals]
        )
        accepted = (values[0] >= val_other.stay[..., None]) & available
        here = [values[1 + i][..., 0] for i in range(g)]
        best = [xp.max(xp.where(accepted, values[1 + g + i], -xp.inf), axis=-1, initial=-xp.inf) for i in range(g)]
        return accepted, here, best

    def reservation(self, val: Valuation, grid: Array, fight: Array) -> Array:
        """``(paths,)`` the smallest victory score on ``grid`` he accepts rather than ``fight``
        (:func:`.bargaining_range.reservation_score`)."""
        xp = namespace(fight)
        (values,) = self.values([(val, xp.broadcast_to(grid, (*fight.shape, grid.size)))])
        return bargaining_range.reservation_score(values, grid, fight)
