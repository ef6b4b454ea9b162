"""A leader's valuation of the terms on the table and of fighting on, on a set of paths.

A leader values two things (Model 2, ``docs/model.md``): his **office** (a month in office is worth 1,
plus the trappings of militarism at war, less a direct cost of war; removal costs his punishment) and
the **policy** outcome, what his side holds of his aims, weighted by ``policy_weight`` (months of office
per month of full attainment) whether or not he is in office. Victory scores (:mod:`.bargaining`) turn
the battlefield and the terms into his measure of success (the transition shock and the punishment
read it); the weighted attainment of his aims is the policy outcome.

Written once over the arguments' array namespace: the NumPy engine values the
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
from ceasefire.model.params import PERSON_TIED, TRANSITION_REASONS, Array, Ceasefire, Leader, TermsParams
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
class Deals:
    """The deals a leader values, one per column (each field broadcast against the paths' scores).

    ``victory``: his victory score of the deal; ``attainment``: the weighted attainment of his aims it
    gives (the policy outcome, in [0, 1]); ``audience``: the factor ``exp(beta_aud * reject)`` on his
    peace hazard, from the share of his public that rejects it; ``guaranteed``: security guarantees
    (the breakdown hazard's factor); ``removes``: signing removes him from office."""

    victory: Array
    attainment: Array
    audience: Array = 1.0
    guaranteed: Array = False
    removes: Array = False

    def at(self, pick: Callable[[Array], Array]) -> Deals:
        """The deals' fields laid out by ``pick`` (a subset of elements, a block of columns)."""
        return Deals(*(pick(_arr(getattr(self, f.name))) for f in fields(self)))


@dataclass(frozen=True)
class Valuation:
    """One leader's values on a set of paths: fighting on forever, and what a deal is worth.

    ``war_cashflow`` is the month's value while fighting (office flow, removal charged at its rate, the
    policy outcome) and ``war_discount`` (``delta * exp(-rate_war)``) the discount-and-survival factor to
    the next month, so that ``stay = war_cashflow / (1 - war_discount)``.
    """

    stay: Array
    """Fighting on forever at today's hazard and today's battlefield: office and policy."""
    stay_office: Array
    """Its office part: what a breakdown of peace gives him back in office."""
    flow: Array
    rate_war: Array
    punishment_war: Array
    delta: Array
    peace_long: Array
    """The peace hazard in the long run: no pain, stability restored, the war's legitimacy gone."""
    peace_excess: Array
    """Today's peace hazard above it (pain, instability), fading over the transition."""
    shock_total: Array
    punishment: Array
    lost_war: Array
    tau: Array
    gamma: Array
    policy_weight: Array
    attainment_war: Array
    """The policy outcome of fighting on: his aims' weighted attainment on the battlefield."""
    breakdown_long: Array
    """The background breakdown hazard of a ceasefire without guarantees, in the long run."""
    breakdown_excess: Array
    """... and its excess at signing (fading)."""
    guarantee_factor: Array

    @classmethod
    def of(
        cls,
        ld: Leader,
        successor: Array | None,
        casualty_ratio: Array,
        pain: Array,
        stability_loss: Array,
        v_battle: Array,
        h_battle: Array,
        cease: Ceasefire,
        broken: Array,
        war_log_shift: Array | None = None,
    ) -> Valuation:
        """Values of the leader ``ld`` given the state (the month's casualty ratio, pain, lost stability),
        the battlefield's victory score and attainment, the ceasefire's parameters and the agreements
        broken so far. ``successor`` marks the paths led by a successor (``None``: an incumbent
        everywhere); ``war_log_shift`` is added to his log-hazard at war only (another leader's doubt of
        his resolve)."""
        xp = namespace(casualty_ratio, v_battle)
        rate_war, rate_peace = removal_rates(ld, successor, casualty_ratio, pain, stability_loss, war_log_shift)
        long = hazard.peace_base_rate(rate0(ld, successor), -ld.casualty_hazard, reason(ld, "legitimacy", successor))
        pun = reason(ld, "punishment", successor)
        lost_war = ld.punishment_lost_war
        flow = 1.0 + reason(ld, "militarism", successor) - ld.reasons.war_cost
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        stay_office = leader.stationary_value(flow, rate_war, pun_war, ld.discount)
        psi = ld.policy_weight
        fragility = xp.power(cease.record_factor, broken)
        return cls(
            stay=stay_office + psi * h_battle / (1.0 - ld.discount),
            stay_office=stay_office,
            flow=flow,
            rate_war=rate_war,
            punishment_war=pun_war,
            delta=ld.discount,
            peace_long=long,
            peace_excess=xp.maximum(rate_peace - long, 0.0),
            shock_total=transition_total(ld, successor),
            punishment=pun,
            lost_war=lost_war,
            tau=ld.shock_months,
            gamma=ld.victory_relief,
            policy_weight=psi,
            attainment_war=h_battle,
            breakdown_long=cease.breakdown * fragility,
            breakdown_excess=(cease.breakdown_early - cease.breakdown) * fragility,
            guarantee_factor=cease.guarantee_factor,
        )

    def take(self, rows: Any) -> Valuation:
        """The values on a subset of these paths (a mask or indices); a number stays as it is."""
        return Valuation(*(at_rows(rows, getattr(self, f.name)) for f in fields(self)))

    def punishment_at(self, victory: Array, layout: Layout = by_paths) -> Array:
        """The punishment if he falls after a peace with victory score ``victory``: raised for a lost war."""
        return (
            layout(_arr(self.punishment * (1.0 + self.lost_war)))
            - layout(_arr(self.punishment * self.lost_war)) * victory
        )

    def office_arguments(self, deals: Deals, layout: Layout = by_paths) -> PeaceArguments:
        """The arguments of :func:`.leader.peace_series` for the office part of each deal.

        He leaves the peace-office state at the rate ``aud (peace_long + peace_excess q^u) + J (1 - v)^gamma q^u
        + nu_u`` (``q = exp(-1/tau)``, his transition): removal, charged his punishment, or the ceasefire's
        breakdown (background hazard ``nu_u``, its early excess taken to fade over the same transition),
        which gives him back his value of office at war. See ``docs/model.md``.
        """
        aud = deals.audience
        shock = hazard.transition_shock(layout(_arr(self.shock_total)), deals.victory, layout(_arr(self.gamma)))
        pun = self.punishment_at(deals.victory, layout)
        g = namespace(deals.victory).where(deals.guaranteed, layout(_arr(self.guarantee_factor)), 1.0)
        nu_long, nu_excess = layout(_arr(self.breakdown_long)) * g, layout(_arr(self.breakdown_excess)) * g
        long, excess = aud * layout(_arr(self.peace_long)), aud * layout(_arr(self.peace_excess))
        war = layout(_arr(self.stay_office))
        base = long + nu_long
        transition = excess + shock + nu_excess
        flow_part = 1.0 - long * pun + nu_long * war
        shock_cost = (excess + shock) * pun - nu_excess * war
        return base, transition, layout(_arr(self.tau)), layout(_arr(self.delta)), flow_part, shock_cost

    def breakdown_arguments(self, guaranteed: bool) -> PeaceArguments:
        """The arguments of :func:`.leader.peace_series` for ``sum_u delta^u N_u``, ``N_u`` the chance that a
        ceasefire (with or without guarantees) still holds in month ``u``: the weight of the policy
        outcome of peace against that of the war it reverts to."""
        g = self.guarantee_factor if guaranteed else 1.0
        return self.breakdown_long * g, self.breakdown_excess * g, self.tau, self.delta, 1.0, 0.0

    def combine(self, deals: Deals, office: Array, holds: tuple[Array, Array], layout: Layout = by_paths) -> Array:
        """The value of each deal: its office part (``office``; minus the punishment where the deal removes
        him) plus the policy outcome, that of the deal while the peace holds and that of the war after
        (``holds``: ``sum_u delta^u N_u`` per path, without and with guarantees)."""
        xp = namespace(office)
        held = xp.where(deals.guaranteed, layout(_arr(holds[1])), layout(_arr(holds[0])))
        psi, delta = layout(_arr(self.policy_weight)), layout(_arr(self.delta))
        h_war = layout(_arr(self.attainment_war))
        policy = psi * (h_war / (1.0 - delta) + (deals.attainment - h_war) * held)
        return xp.where(deals.removes, -self.punishment_at(deals.victory, layout), office) + policy

    @property
    def war_cashflow(self) -> Array:
        """The month's value of fighting on: office flow, removal charged at its rate, and the policy outcome,
        which goes on after a removal (valued then as today's, forever)."""
        xp = namespace(self.rate_war)
        policy = self.policy_weight * self.attainment_war
        fall = 1.0 - xp.exp(-self.rate_war)
        return self.flow - self.rate_war * self.punishment_war + policy * (1.0 + self.delta * fall / (1.0 - self.delta))

    @property
    def war_discount(self) -> Array:
        """Discount times survival from this month to the next while fighting."""
        return self.delta * namespace(self.rate_war).exp(-self.rate_war)

    def fight_terms(self, months: int) -> tuple[Array, Array]:
        """``(now, then)``: fighting ``months`` more at today's hazard, then ``c``, is ``now + then * c``."""
        return leader.annuity_terms(self.war_cashflow, self.war_discount, months)


def _arr(a: Array) -> Array:
    """An array (a Python number becomes a 0-d NumPy array, which takes a new axis)."""
    return a if hasattr(a, "ndim") else np.asarray(a)


def at_rows(rows: Any, a: Array) -> Array:
    """A path's quantity on the paths ``rows`` (a mask or indices; a number is the same on every path)."""
    return a[rows] if np.ndim(a) else a


# --- victory scores ------------------------------------------------------------------------------


def aim_progress(st: Structure, side: str, progress: Array, at_war: bool = False) -> Array:
    """``(paths, aims)`` progress on the objective each aim is tied to. An aim tied to none has no progress
    under terms (the terms grant it or concede it); while the war goes on (``at_war``) it is met as far
    as its status quo says."""
    xp = namespace(progress)
    obj = st.aim_objective[side]
    padded = xp.concatenate([progress, xp.zeros((*progress.shape[:-1], 1))], axis=-1)
    tied = padded[..., np.where(obj >= 0, obj, progress.shape[-1])]
    quo = st.status_quo[side]
    return xp.where(obj >= 0, tied, quo) if at_war and quo.any() else tied


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


def attainment(st: Structure, side: str, progress: Array, *, layout_by_terms: bool = False) -> Array:
    """The weighted attainment of a leader's aims under every terms option, ``(paths, terms)`` or ``(terms,
    paths)``: each aim the terms grant is met, each other one as far as the battlefield (or its status
    quo) meets it when they are signed. His policy outcome of the terms (:class:`Deals`)."""
    return bargaining.weighted_attainment(
        st.granted[side], aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side],
        st.untied(side), by_terms=layout_by_terms,
    )  # fmt: skip


def victory(st: Structure, side: str, progress: Array, ld: Leader, *, layout_by_terms: bool = False) -> Array:
    """Victory scores of every terms option for one side's leader: ``(paths, terms)``, or ``(terms,
    paths)`` with ``layout_by_terms`` (one path's numbers along whole rows: faster in NumPy, the same
    arithmetic element by element). ``progress`` is ``(paths, objectives)``; the leader's parameters
    may carry leading axes of variants (paths by terms only). From the terms' weighted attainment
    (:func:`attainment`), his aspiration, the ratchet on every concession offered to him and the
    concessions they give (:func:`.bargaining.victory_from_score`)."""
    if not layout_by_terms and namespace(progress) is np and np.ndim(ld.aspiration) <= 1:
        # worked terms by paths (whole rows) and transposed: faster, the same elements
        return np.ascontiguousarray(victory(st, side, progress, ld, layout_by_terms=True).T)
    score = attainment(st, side, progress, layout_by_terms=layout_by_terms)
    received, offered = concessions(st, side, ld)
    layout = by_terms if layout_by_terms else by_paths
    given = st.concessions(side)
    concession = layout(_arr(received)) + (given[:, None] if layout_by_terms else given)
    return bargaining.victory_from_score(
        score, ld.aspiration, concession, offered, ld.reasons.opportunism, by_terms=layout_by_terms
    )


def attainment_at(st: Structure, side: str, progress: Array, rows: Any, terms: Any) -> Array:
    """``(k,)`` :func:`attainment` of single elements, terms ``terms[e]`` on path ``rows[e]`` (NumPy)."""
    return bargaining.weighted_attainment_at(
        st.granted[side], _aim_progress_at(st, side, progress, rows), st.aim_lost[side], st.aim_weights[side],
        terms, st.untied(side),
    )  # fmt: skip


def victory_at(st: Structure, side: str, progress: Array, ld: Leader, rows: Any, terms: Any) -> Array:
    """``(k,)`` victory scores of single elements, terms ``terms[e]`` on path ``rows[e]``: the bits of
    ``victory(st, side, progress, ld)[rows, terms]`` at the cost of those alone (NumPy)."""
    score = attainment_at(st, side, progress, rows, terms)
    received, aspiration = at_rows(rows, ld.concession_received), at_rows(rows, ld.aspiration)
    offered = received + (st.concessions(side).max() if len(st.terms) else 0.0)
    concession = received + st.concessions(side)[terms]
    return bargaining.victory_from_score(
        score[:, None], aspiration, concession[:, None], offered, at_rows(rows, ld.reasons.opportunism)
    )[:, 0]


def battlefield(st: Structure, side: str, progress: Array, ld: Leader) -> tuple[Array, Array]:
    """The battlefield alone (no terms): the leader's victory score, which a removal during the war is
    judged by, and his aims' weighted attainment, the policy outcome of fighting on.

    An aim that A's progress defeats is still held while not lost (the attainment of a grant,
    ``g (1 - p)`` with ``g = 1``); an aim that progress achieves is met as far as taken; an aim tied to no
    objective as far as its status quo says.
    """
    held = st.aim_lost[side][:, None]
    score = bargaining.weighted_attainment(
        held,
        aim_progress(st, side, progress, at_war=True),
        st.aim_lost[side],
        st.aim_weights[side],
        st.untied(side, at_war=True),
    )
    received = _arr(ld.concession_received)
    v = bargaining.victory_from_score(score, ld.aspiration, received[..., None], received, ld.reasons.opportunism)
    return v[..., 0], score[..., 0]


def stake_shift(st: Structure, side: str, ld: Leader) -> Array:
    """``s`` in ``v = clip(x - s, 0, 1)``: the victory score of a deal giving the leader a share ``x`` of
    the stake (:mod:`.bargaining_range`). His aspiration, the ratchet on every concession offered to
    him and the concessions he holds shift it."""
    received, offered = concessions(st, side, ld)
    return ld.aspiration + ld.reasons.opportunism * offered - received - 1.0


class TermScores:
    """The terms on the table as deals for one leader, on some paths: their victory scores, his aims'
    attainment, the audience cost and guarantees of each; in the layout asked for (each computed once);
    single elements from the whole table when it exists, else on their own (NumPy)."""

    def __init__(
        self, st: Structure, side: str, progress: Array, ld: Leader, terms: Sequence[TermsParams] = ()
    ) -> None:
        self.st, self.side, self.progress, self.ld, self.terms = st, side, progress, ld, tuple(terms)
        self._cache: dict[str, Array] = {}

    def _get(self, key: str, make: Callable[[], Array]) -> Array:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def by_paths(self) -> Array:
        """``(paths, terms)`` victory scores."""
        return self._get("v", lambda: victory(self.st, self.side, self.progress, self.ld))

    def by_terms(self) -> Array:
        """``(terms, paths)`` victory scores."""
        return self._get("vt", lambda: victory(self.st, self.side, self.progress, self.ld, layout_by_terms=True))

    def at(self, rows: Any, terms: Any) -> Array:
        """``(k,)`` the scores of terms ``terms[e]`` on path ``rows[e]``."""
        if "v" in self._cache:
            return self._cache["v"][rows, terms]
        if "vt" in self._cache:
            return self._cache["vt"][terms, rows]
        return victory_at(self.st, self.side, self.progress, self.ld, rows, terms)

    def _audience(self) -> Array:
        """``(terms, ...)`` the factor on his peace hazard from the share of his public rejecting each terms."""
        xp = namespace(self.progress)
        if not self.terms:
            return xp.ones((len(self.st.terms), 1))
        beta = self.ld.audience_hazard
        factors = xp.broadcast_arrays(*(xp.exp(beta * _arr(t.rejected[self.side])) for t in self.terms))
        stacked = xp.stack(factors, axis=0)
        return stacked[:, None] if stacked.ndim == 1 else stacked

    def deals(self, layout_by_terms: bool = False) -> Deals:
        """The terms as :class:`Deals`, ``(paths, terms)`` (or ``(terms, paths)``)."""
        if layout_by_terms:
            v = self.by_terms()
            h = self._get("ht", lambda: attainment(self.st, self.side, self.progress, layout_by_terms=True))
            aud = self._get("at", self._audience)
            return Deals(v, h, aud, self.st.guarantees[:, None], self.st.removes_leader[self.side][:, None])
        v = self.by_paths()
        h = self._get("h", lambda: attainment(self.st, self.side, self.progress))
        aud = self._get("a", lambda: namespace(v).moveaxis(self._audience(), 0, -1))
        return Deals(v, h, aud, self.st.guarantees, self.st.removes_leader[self.side])

    def deals_at(self, rows: Any, terms: Any) -> Deals:
        """The deals of single elements, terms ``terms[e]`` on path ``rows[e]`` (NumPy)."""
        aud = self._get("at", self._audience)
        aud_at = aud[terms, rows] if aud.shape[1] > 1 else aud[terms, 0]
        h = attainment_at(self.st, self.side, self.progress, rows, terms)
        return Deals(
            self.at(rows, terms), h, aud_at, self.st.guarantees[terms], self.st.removes_leader[self.side][terms]
        )


def battle_deals(v_battle: Array, h_battle: Array) -> Deals:
    """Peace on the battlefield's terms (a regressor of the rules): its victory score and attainment."""
    return Deals(v_battle[..., None], h_battle[..., None])


def grid_deals(grid: Array) -> Deals:
    """Deals on a grid of victory scores, the bargaining range's: the attainment taken as the score."""
    return Deals(grid, grid)


# --- values of peace, every element asked for ----------------------------------------------------


class Exact:
    """Values of peace of every element asked for, with the backend's kernel.

    :mod:`.screen` gives the same answers (bit for bit) valuing only the elements they depend on.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._holds: dict[int, tuple[Valuation, tuple[Array, Array]]] = {}

    def holds(self, val: Valuation) -> tuple[Array, Array]:
        """``sum_u delta^u N_u`` without and with guarantees, per path (computed once per valuation)."""
        if id(val) not in self._holds:
            plain, guaranteed = self.backend([val.breakdown_arguments(False), val.breakdown_arguments(True)])
            self._holds[id(val)] = (val, (plain, guaranteed))
        return self._holds[id(val)][1]

    def values(self, requests: Sequence[tuple[Valuation, Deals]]) -> list[Array]:
        """Values of each request's deals (the valuation's paths by the deals' columns), every value of
        peace asked of the backend at once."""
        new = list({id(val): val for val, _ in requests if id(val) not in self._holds}.values())
        arguments = [a for v in new for a in (v.breakdown_arguments(False), v.breakdown_arguments(True))]
        arguments += [val.office_arguments(deals) for val, deals in requests]
        out = self.backend(arguments) if arguments else []
        for i, v in enumerate(new):
            self._holds[id(v)] = (v, (out[2 * i], out[2 * i + 1]))
        offices = out[2 * len(new) :]
        return [val.combine(d, o, self._holds[id(val)][1]) for (val, d), o in zip(requests, offices, strict=True)]

    def reaches(self, val: Valuation, scores: TermScores, threshold: Array) -> Array:
        """``(paths, terms)``: whether each terms option's value reaches the path's ``threshold``."""
        (values,) = self.values([(val, scores.deals())])
        return values >= threshold[..., None]

    def best(self, val: Valuation, read: Array, scores: TermScores) -> Array:
        """``(paths,)``: the largest value over each path's terms ``read`` (``-inf`` where none)."""
        (values,) = self.values([(val, scores.deals())])
        xp = namespace(values)
        return xp.max(xp.where(read, values, -xp.inf), axis=-1, initial=-xp.inf)

    def problem_values(
        self,
        val_other: Valuation,
        scores_other: TermScores,
        available: Array,
        vals: Sequence[Valuation],
        battle: Deals,
        scores: TermScores,
    ) -> tuple[Array, list[Array], list[Array]]:
        """What a month of a stopping problem reads, every value asked of the backend at once: the terms
        the other accepts (his value at least his value of fighting on forever, ``(..., paths, terms)``);
        for each of the leader's valuations ``vals``, his value of peace on the battlefield's terms and the
        best of those accepted terms (``-inf`` where none)."""
        xp = namespace(val_other.stay)
        g = len(vals)
        values = self.values(
            [(val_other, scores_other.deals())] + [(v, battle) for v in vals] + [(v, scores.deals()) for v in vals]
        )
        accepted = (values[0] >= val_other.stay[..., None]) & available
        here = [values[1 + i][..., 0] for i in range(g)]
        best = [xp.max(xp.where(accepted, values[1 + g + i], -xp.inf), axis=-1, initial=-xp.inf) for i in range(g)]
        return accepted, here, best

    def reservation(self, val: Valuation, grid: Array, fight: Array) -> Array:
        """``(paths,)`` the smallest victory score on ``grid`` he accepts rather than ``fight``
        (:func:`.bargaining_range.reservation_score`)."""
        xp = namespace(fight)
        (values,) = self.values([(val, grid_deals(xp.broadcast_to(grid, (*fight.shape, grid.size))))])
        return bargaining_range.reservation_score(values, grid, fight)
