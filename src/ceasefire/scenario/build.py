"""The edge between the file format and the model: a validated scenario as the model's typed inputs.

:func:`structure_of` gives the scenario's discrete structure (:class:`ceasefire.model.structure.Structure`);
:func:`params_of` turns a flat table of parameter values (dotted path -> array, as the sampler draws
them) into the typed tree :class:`ceasefire.model.params.Params`. Both are called once, where a run
starts; nothing inside the model reads the scenario schema.
"""

from __future__ import annotations

import numpy as np

from ceasefire.model.params import Pair, tree_path
from ceasefire.model.structure import EventChange, EventSpec, LeverSpec, PatronSpec, Structure, params_from
from ceasefire.scenario.schema import (
    Event,
    LeaderChange,
    LeverStart,
    ParameterChange,
    Patron,
    PatronChange,
    Scenario,
    param_domain,
)


def structure_of(scenario: Scenario) -> Structure:
    """The scenario's objectives, aims, terms and levers as arrays."""
    objective_ids = tuple(o.id for o in scenario.objectives)
    objective_index = {o: i for i, o in enumerate(objective_ids)}
    lever_ids = tuple(lv.id for lv in scenario.levers)
    terms_ids = tuple(t.id for t in scenario.terms)

    def aims(side: str) -> list:  # type: ignore[type-arg]
        return scenario.leaders[side].aims  # type: ignore[index]

    patron_ids = tuple(j.id for j in scenario.patrons)
    ids = (objective_ids, lever_ids, terms_ids, patron_ids)
    levers = []
    for lv in scenario.levers:
        low, high = param_domain(scenario, lv.target)
        target = tree_path(lv.target, *ids)
        levers.append(LeverSpec(lv.id, target, lv.effect, float(low), float(high), lv.start_month))
    ratification = [t.ratification for t in scenario.terms]

    def renewal(side: str, key: str) -> int:
        r = scenario.sides[side].renewal  # type: ignore[index]
        return 0 if r is None else int(getattr(r, key))

    return Structure(
        objectives=objective_ids,
        terms=terms_ids,
        available_from=np.array([t.available_from for t in scenario.terms], dtype=np.int64),
        guarantees=np.array([t.security_guarantees for t in scenario.terms], dtype=bool),
        sanctions_relief=np.array([t.sanctions_relief for t in scenario.terms], dtype=float),
        concession_to_a=np.array([t.concession_to_A for t in scenario.terms], dtype=float),
        aim_weights=Pair.of(lambda s: np.array([a.weight for a in aims(s)], dtype=float)),
        aim_objective=Pair.of(
            lambda s: np.array([objective_index[a.objective] if a.objective else -1 for a in aims(s)], dtype=np.int64)
        ),
        aim_lost=Pair.of(lambda s: np.array([a.effect == "lost_by" for a in aims(s)], dtype=bool)),
        granted=Pair.of(lambda s: np.array([[a.id in t.grants for t in scenario.terms] for a in aims(s)], dtype=bool)),
        status_quo=Pair.of(lambda s: np.array([a.status_quo for a in aims(s)], dtype=float)),
        removes_leader=Pair.of(lambda s: np.array([s in t.removes_leader for t in scenario.terms], dtype=bool)),
        ratified_by=np.array([-1 if r is None else "AB".index(r.side) for r in ratification], dtype=np.int64),
        ratify_threshold=np.array([0.5 if r is None else r.threshold for r in ratification], dtype=float),
        ratify_error=np.array([0.05 if r is None else r.poll_error for r in ratification], dtype=float),
        ratify_blocked=np.array([0 if r is None else r.blocked_months for r in ratification], dtype=np.int64),
        renewal_every=Pair.of(lambda s: renewal(s, "every_months")),
        renewal_first=Pair.of(lambda s: renewal(s, "first_month")),
        levers=tuple(levers),
        prior_broken=int(scenario.ceasefire.prior_broken),
        events=tuple(_event(scenario, e, ids) for e in scenario.events),
        patrons=tuple(_patron(scenario, j) for j in scenario.patrons),
    )


def _event(scenario: Scenario, e: Event, ids: tuple[tuple[str, ...], ...]) -> EventSpec:
    """An event as the model applies it: its kind and month, and what it changes (``ids``: the objectives',
    levers', terms' and patrons' ids)."""
    lever_ids, patron_ids = ids[1], ids[3]
    changes: list[EventChange] = []
    levers: list[tuple[int, float]] = []
    patrons: list[int] = []
    leaders: list[str] = []
    for position, ch in enumerate(e.changes):
        if isinstance(ch, ParameterChange):
            low, high = param_domain(scenario, ch.target)
            target = tree_path(ch.target, *ids)
            changes.append(EventChange(target, ch.effect, float(low), float(high), position))
        elif isinstance(ch, LeverStart):
            levers.append((lever_ids.index(ch.lever), float(ch.intensity)))
        elif isinstance(ch, PatronChange):
            patrons.append(patron_ids.index(ch.patron))
        elif isinstance(ch, LeaderChange):
            leaders.append(ch.leader)
    month = e.month_from(scenario.scenario.start)
    kind = "scheduled" if month is not None else ("probability" if e.probability is not None else "within")
    return EventSpec(
        id=e.id,
        kind=kind,
        month=0 if month is None else month,
        changes=tuple(changes),
        levers=tuple(levers),
        patrons=tuple(patrons),
        leaders=tuple(leaders),
    )


def _patron(scenario: Scenario, j: Patron) -> PatronSpec:
    """A patron as the model reads it: its side, veto and weights over that side's aims."""
    aims = [a.id for a in scenario.leaders[j.backs].aims]  # type: ignore[index]

    def weights(table: dict[str, float]) -> tuple[float, ...]:
        return tuple(float(table.get(a, 0.0)) for a in aims)

    return PatronSpec(j.id, j.backs, j.veto, (weights(j.leader.weights), weights(j.successor.weights)))


params_of = params_from
"""The typed parameters of a flat table of values (per path, per sample or with leading axes)."""
