"""The model's parameters, typed: one frozen dataclass per part of the war, with the scenario's names.

A parameter set is a tree: :class:`Params` holds the territory, the objectives, the attrition, each
side's forces, economy and stability, each leader's calculus, the ceasefire, the levers' own
numbers, and the events' and patrons' (:class:`EventParams`, :class:`PatronParams`). Every leaf is a
number or an array of numbers (one per path, one per sample, or with leading axes of variants, as
:mod:`ceasefire.analysis.explain` uses them); the kernels broadcast them.

The tree's paths are the scenario file's dotted parameter paths: ``params.sides.A.forces.manpower``
is ``sides.A.forces.manpower``, ``params.leaders.B.reasons.punishment`` is
``leaders.B.reasons.punishment``; objectives, levers, events and patrons are tuples in the
scenario's order (``objectives.<id>.area_km2``, ``levers.<id>.per_unit``, ``events.<id>.probability``,
``events.<id>.changes.<i>.value``, ``patrons.<id>.leader.war_cost``). :func:`from_flat` builds the
tree once, at the edge, from the sampler's flat table of values; inside the model a typo is then an
attribute error that the type checker sees, not a ``KeyError`` at run time.

The classes are JAX pytrees once the JAX backend is imported (:func:`register_pytrees`): the JAX
engine carries them through ``jit``, ``vmap`` and ``lax.scan`` (as Equinox's modules are). Nothing
here imports JAX, pydantic or the scenario schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from functools import cache
from typing import Any, Generic, TypeVar, get_type_hints

import numpy as np

Array = Any
"""A number, a NumPy array or a JAX array: every leaf broadcasts against the paths."""

T = TypeVar("T")

SIDES = ("A", "B")
"""The two belligerents."""


def other(side: str) -> str:
    """The other side."""
    return "B" if side == "A" else "A"


@dataclass(frozen=True)
class Pair(Generic[T]):
    """One value per side, ``pair["A"]`` or ``pair.A``."""

    A: T
    B: T

    def __getitem__(self, side: str) -> T:
        if side == "A":
            return self.A
        if side == "B":
            return self.B
        raise KeyError(side)

    def items(self) -> Iterator[tuple[str, T]]:
        yield "A", self.A
        yield "B", self.B

    @classmethod
    def of(cls, make: Callable[[str], T]) -> Pair[T]:
        """``Pair(make("A"), make("B"))``."""
        return cls(make("A"), make("B"))


@dataclass(frozen=True)
class Territory:
    """The contested land, km², and the front's recent pace (the start's power ratio)."""

    area_km2: Array
    held_km2: Array
    """Held by side A at the start."""
    gain_km2_per_month: Array
    """Mean monthly gain of A at the start's power ratio."""
    gain_sd_km2: Array
    power_elasticity: Array
    """theta: the gain scales as ``(rho / rho0)^theta``."""
    other_area_km2: Array
    """Side A's own land side B can take beyond the start line, km² (0: A's line holds there)."""


@dataclass(frozen=True)
class Objective:
    """An area A tries to take; objectives fill in order as A's line advances."""

    area_km2: Array


@dataclass(frozen=True)
class Attrition:
    """Losses at the start and how they scale with the enemy's power (Lanchester 1916)."""

    casualties_per_day: Array
    """Side A's casualties per day at the start."""
    exchange_ratio: Array
    """A's casualties per casualty of B at the start."""
    intensity_sd: Array
    """sd of the monthly log-intensity of fighting."""
    fire_exponent: Array
    """q: a side's losses scale as (enemy power / its start)^q; 1 is aimed fire."""


@dataclass(frozen=True)
class Forces:
    """A side's manpower (persons), equipment (index, 1 = the start's stock) and military aid."""

    manpower: Array
    recruitment: Array
    """Persons per month."""
    recruitment_pain_elasticity: Array
    permanent_loss_share: Array
    separation: Array
    manpower_exponent: Array
    equipment: Array
    equipment_exponent: Array
    equipment_loss: Array
    equipment_production: Array
    equipment_storage: Array
    equipment_restoration: Array
    aid_level: Array
    aid_reliability: Array
    aid_equipment: Array
    aid_finance: Array
    finance_level: Array
    """Budget support received, 1 = the level at the start (``aid_finance`` per month at 1)."""


@dataclass(frozen=True)
class Economy:
    """A side's treasury, per month in its budget unit."""

    reserves: Array
    revenue: Array
    commodity_revenue: Array
    commodity_volatility: Array
    commodity_reversion: Array
    sanctions: Array
    spending_war: Array
    spending_other: Array
    reserve_share: Array
    peace_war_spending: Array
    exhaustion_pain: Array
    demobilization_months: Array
    """Time constant of war spending's fall to its peace share after a settlement (0: at once)."""


@dataclass(frozen=True)
class Stability:
    """A side's domestic stability in [0, 1] and what moves it."""

    initial: Array
    recovery: Array
    pain_sensitivity: Array
    casualty_sensitivity: Array
    noise_sd: Array


@dataclass(frozen=True)
class Renewal:
    """The decisions on a side's external money (budget support and military aid): at each decision date
    (:class:`.structure.Structure`) the flows are cut with probability ``cut`` (to ``cut_to`` of their
    level), raised with probability ``raised`` (to ``raise_to``), else renewed as they are."""

    cut: Array
    cut_to: Array
    raised: Array
    raise_to: Array


@dataclass(frozen=True)
class Side:
    """One belligerent: forces, economy, stability, and the renewal of its external money."""

    forces: Forces
    economy: Economy
    stability: Stability
    renewal: Renewal


@dataclass(frozen=True)
class Reasons:
    """The named reasons of a leader's calculus (Aron 2025; punishment: Goemans 2000); 0 is neutral."""

    legitimacy: Array
    """1: log-hazard reduction while at war."""
    militarism: Array
    """2: extra flow value per month at war."""
    war_economy: Array
    """3: monthly hazard added by converting the war economy."""
    bonuses_and_wages: Array
    """4: hazard added by ending bonuses and war wages."""
    veterans: Array
    """4: hazard added by returning veterans."""
    risk_of_change: Array
    """5: hazard added by any sharp change."""
    opportunism: Array
    """6: aspiration raised per unit of concession received."""
    need_for_victory: Array
    """7: hazard added by a peace short of the aims."""
    punishment: Array
    """Personal cost of removal, months of office value."""
    war_cost: Array
    """A direct personal cost of war per month at war, months of office (neutral 0)."""


TRANSITION_REASONS = ("war_economy", "bonuses_and_wages", "veterans", "risk_of_change", "need_for_victory")
"""The reasons that add up to the transition shock of a settlement, in the order they are summed."""

PERSON_TIED = ("militarism", "punishment", "need_for_victory")
"""The reasons tied to the person: a successor keeps ``1 - reset`` of them."""


@dataclass(frozen=True)
class Successor:
    """Who takes over when a leader falls."""

    reset: Array
    """Share of the person-tied reasons that resets to neutral."""
    hazard_multiplier: Array
    """A new leader's base hazard relative to the incumbent's."""


@dataclass(frozen=True)
class Leader:
    """A leader's calculus: his hazard of losing office, his discount, his aims' bar and his beliefs."""

    discount: Array
    """Monthly discount factor."""
    base_hazard: Array
    """Annual probability of losing office at the start."""
    casualty_hazard: Array
    pain_hazard: Array
    instability_hazard: Array
    shock_months: Array
    """Decay time of the post-war transition shock, months."""
    victory_relief: Array
    """gamma: the shock scales as (1 - victory)^gamma."""
    punishment_lost_war: Array
    aspiration: Array
    concession_received: Array
    optimism: Array
    """Log-bias on his own side's combat power in his beliefs."""
    resolve_doubt: Array
    """Log-bias on the other leader's hazard at war in his beliefs (0 when the scenario leaves it out)."""
    policy_weight: Array
    """psi: months of office a month of full attainment of his aims is worth to him (0: office alone)."""
    audience_hazard: Array
    """Log-hazard of removal added per unit share of his public that rejects the terms he signed: set on
    signing, it multiplies his removal rate at war (after a breakdown) and his base rate in peace
    until he leaves office (:attr:`.month.Politics.audience`)."""
    reasons: Reasons
    successor: Successor


@dataclass(frozen=True)
class Ceasefire:
    """A ceasefire's background breakdown, highest early (Fortna 2004), what moves it, the cost of breaking
    it, and the talks before a signing."""

    breakdown: Array
    """Monthly probability of a breakdown in the long run."""
    breakdown_early: Array
    """The same at signing; it fades to ``breakdown`` with the time constant ``fragility_months``."""
    fragility_months: Array
    guarantee_factor: Array
    record_factor: Array
    resume_cost: Array
    """Months of office a leader loses by breaking a ceasefire."""
    guarantee_cost: Array
    """Extra months of office lost by breaking one with security guarantees."""
    resume_noise: Array
    """Spread of the decision to resume, months of office (0: no leader resumes by choice)."""
    negotiation_months: Array
    """Months of talks from the first month both accept terms to the signing."""


@dataclass(frozen=True)
class TermsParams:
    """A terms option's uncertain numbers: the share of each side's public that rejects it (a poll)."""

    rejected: Pair[Array]


@dataclass(frozen=True)
class LeverParams:
    """A lever's own uncertain numbers: its change at intensity 1, its credibility (the probability it is
    carried out and sustained) and its cost per unit of intensity (the analyses' price of peace)."""

    per_unit: Array
    credibility: Array
    cost_per_unit: Array


@dataclass(frozen=True)
class EventParams:
    """An event's own uncertain numbers (:class:`.structure.EventSpec` says what it is and does).

    ``probability``: the monthly probability of an uncertain event (its month is drawn per path,
    geometric); ``within``: the month of an event whose date is uncertain (drawn per sample);
    ``values``: the value of each of its parameter changes, in the order of the changes that have one.
    """

    probability: Array
    within: Array
    values: tuple[Array, ...]


@dataclass(frozen=True)
class PatronLeader:
    """A patron's leader's calculus: how much he cares about the backed side's aims and what the war costs
    him at home (both in months of office per month)."""

    policy_weight: Array
    """psi: months of office a month of full attainment of his aims is worth to him."""
    war_cost: Array
    """Months of office a month of war costs him at home (his public's support for it falling)."""


@dataclass(frozen=True)
class PatronParams:
    """A third party backing one side: the share of that side's external money it supplies, and its
    leader's and his successor's calculus."""

    aid_share: Array
    """Share of the backed side's military aid and budget support (at the start's level) it supplies."""
    leader: PatronLeader
    successor: PatronLeader


@dataclass(frozen=True)
class Params:
    """Every parameter of a war, as a tree whose paths are the scenario's dotted parameter paths."""

    territory: Territory
    objectives: tuple[Objective, ...]
    attrition: Attrition
    sides: Pair[Side]
    leaders: Pair[Leader]
    ceasefire: Ceasefire
    terms: tuple[TermsParams, ...]
    levers: tuple[LeverParams, ...]
    events: tuple[EventParams, ...] = ()
    """Dated and uncertain events (``[[events]]``), in the scenario's order."""
    patrons: tuple[PatronParams, ...] = ()
    """Third parties (``[[patrons]]``), in the scenario's order."""


OPTIONAL = {
    "resolve_doubt": 0.0,
    "other_area_km2": 0.0,
    "finance_level": 1.0,
    "demobilization_months": 0.0,
    "war_cost": 0.0,
    "policy_weight": 0.0,
    "audience_hazard": 0.0,
    "fragility_months": 12.0,
    "resume_cost": 0.0,
    "guarantee_cost": 0.0,
    "resume_noise": 0.0,
    "negotiation_months": 0.0,
    "cut": 0.0,
    "cut_to": 1.0,
    "raised": 0.0,
    "raise_to": 1.0,
    "A": 0.0,
    "B": 0.0,
    "probability": 0.0,
    "within": 0.0,
}
"""Leaf names a scenario may leave out, with the value they then take (``A``, ``B``: a terms option's
rejection shares; ``probability``, ``within``: an event's month, read only for the kind of event that
gives it)."""

SAME_AS = {"ceasefire.breakdown_early": "ceasefire.breakdown"}
"""Leaves that, left out, take another leaf's value."""


# --- the tree, walked without JAX ------------------------------------------------------------------


def children(node: Any) -> list[tuple[str, Any]]:
    """A node's named children: a dataclass's fields, a tuple's items by index (``"0"``, ``"1"``...)."""
    if is_dataclass(node) and not isinstance(node, type):
        return [(f.name, getattr(node, f.name)) for f in fields(node)]
    if isinstance(node, tuple):
        return [(str(i), v) for i, v in enumerate(node)]
    return []


def is_leaf(node: Any) -> bool:
    return not (is_dataclass(node) and not isinstance(node, type)) and not isinstance(node, tuple)


def map_leaves(fn: Callable[[Any], Any], node: T) -> T:
    """The tree with ``fn`` applied to every leaf (the same classes, new leaves)."""
    if is_leaf(node):
        return fn(node)  # type: ignore[no-any-return]
    if isinstance(node, tuple):
        return type(node)(map_leaves(fn, v) for v in node)  # type: ignore[return-value]
    return replace(node, **{name: map_leaves(fn, v) for name, v in children(node)})  # type: ignore[type-var]


def leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, leaf)`` of every leaf, tuple items named by index."""
    if is_leaf(node):
        yield prefix.rstrip("."), node
        return
    for name, child in children(node):
        yield from leaves(child, f"{prefix}{name}.")


class Rows:
    """A tree seen on a subset of its paths (``rows`` along the first axis), each leaf gathered when read:
    the NumPy engine's decisions read a few of a leader's parameters on the paths at war. A leaf is not
    kept (kept, the leaves stayed alive through the decision, and the heap it gave back was faulted in
    again every month). Reads like the tree (attributes, ``pair["A"]``)."""

    __slots__ = ("_node", "_rows")
    _node: Any
    _rows: Any

    def __init__(self, node: Any, rows: Any) -> None:
        if isinstance(node, Rows):  # a view of a view: the tree itself at the composed rows
            node, rows = node._node, node._rows[rows]
        self._node, self._rows = node, rows

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._node, name)
        if isinstance(value, Rows) or not is_leaf(value):
            return Rows(value, self._rows)
        return value[self._rows] if np.ndim(value) else value

    __getitem__ = __getattr__


def rows_of(node: T, rows: Any) -> T:
    """:class:`Rows` typed as the tree it views."""
    return Rows(node, rows)  # type: ignore[return-value]


def replace_at(node: T, path: Sequence[str | int], value: Any) -> T:
    """The tree with the leaf at ``path`` (field names, tuple indices) replaced by ``value``."""
    if not path:
        return value  # type: ignore[no-any-return]
    head, rest = path[0], path[1:]
    if isinstance(node, tuple):
        i = int(head)
        return type(node)((replace_at(v, rest, value) if j == i else v) for j, v in enumerate(node))  # type: ignore[return-value]
    return replace(node, **{str(head): replace_at(getattr(node, str(head)), rest, value)})  # type: ignore[type-var]


def get_at(node: Any, path: Sequence[str | int]) -> Any:
    """The leaf (or subtree) at ``path``."""
    for part in path:
        node = node[int(part)] if isinstance(node, tuple) else getattr(node, str(part))
    return node


# --- built once at the edge --------------------------------------------------------------------------


EventKeys = Sequence[tuple[str, Sequence[int]]]
"""Each event's id and the positions, in its list of changes, of the changes that carry a value
(``events.<id>.changes.<position>.value``)."""


def tree_path(
    dotted: str,
    objectives: Sequence[str],
    levers: Sequence[str],
    terms: Sequence[str] = (),
    patrons: Sequence[str] = (),
) -> tuple[str | int, ...]:
    """The tree path of a scenario's dotted parameter path: ``objectives.<id>.area_km2`` becomes
    ``("objectives", i, "area_km2")``, ``patrons.<id>.aid_share`` ``("patrons", i, "aid_share")``,
    ``sides.A.economy.sanctions`` stays as its parts.

    Raises ``ValueError`` for an objective, lever, terms or patron id that is not in the lists.
    """
    parts: list[str | int] = list(dotted.split("."))
    ids = {"objectives": objectives, "levers": levers, "patrons": patrons}
    if parts[0] in ids:
        parts[1] = list(ids[str(parts[0])]).index(str(parts[1]))
    elif parts[0] == "terms":  # terms.<id>.rejected_by.<side> is the leaf terms[i].rejected.<side>
        parts = ["terms", list(terms).index(str(parts[1])), "rejected", *parts[3:]]
    return tuple(parts)


def from_flat(
    values: Mapping[str, Array],
    objectives: Sequence[str],
    levers: Sequence[str],
    terms: Sequence[str] = (),
    events: EventKeys = (),
    patrons: Sequence[str] = (),
) -> Params:
    """The typed parameters from a flat table of dotted paths (the sampler's output, per path or per sample).

    ``objectives``, ``levers``, ``terms`` and ``patrons`` are the scenario's ids in order, ``events`` each
    event's id and the positions of its changes that carry a value (:data:`EventKeys`). A leaf in
    :data:`OPTIONAL` left out of ``values`` takes its default; any other missing path is a ``KeyError``
    naming it.
    """

    def leaf(key: str, name: str) -> Any:
        if key in values:
            return values[key]
        if key in SAME_AS:
            return leaf(SAME_AS[key], SAME_AS[key].rsplit(".", 1)[-1])
        if name in OPTIONAL:
            return OPTIONAL[name]
        raise KeyError(f"parameter '{key}' is missing")

    def build(cls: type, prefix: str) -> Any:
        kwargs = {}
        for f in fields(cls):
            key = prefix + f.name
            sub = _subtree_classes(cls).get(f.name)
            kwargs[f.name] = build(sub, key + ".") if sub is not None else leaf(key, f.name)
        return cls(**kwargs)

    def event(event_id: str, positions: Sequence[int]) -> EventParams:
        prefix = f"events.{event_id}."
        return EventParams(
            probability=leaf(prefix + "probability", "probability"),
            within=leaf(prefix + "within", "within"),
            values=tuple(leaf(f"{prefix}changes.{i}.value", "value") for i in positions),
        )

    return Params(
        territory=build(Territory, "territory."),
        objectives=tuple(build(Objective, f"objectives.{o}.") for o in objectives),
        attrition=build(Attrition, "attrition."),
        sides=Pair.of(lambda s: build(Side, f"sides.{s}.")),
        leaders=Pair.of(lambda s: build(Leader, f"leaders.{s}.")),
        ceasefire=build(Ceasefire, "ceasefire."),
        terms=tuple(TermsParams(Pair(*(leaf(f"terms.{t}.rejected_by.{s}", s) for s in SIDES))) for t in terms),
        levers=tuple(build(LeverParams, f"levers.{lv}.") for lv in levers),
        events=tuple(event(e, positions) for e, positions in events),
        patrons=tuple(build(PatronParams, f"patrons.{j}.") for j in patrons),
    )


@cache
def _subtree_classes(cls: type) -> dict[str, type]:
    """Fields of ``cls`` whose value is itself a parameter class (the tree's inner nodes below a side or leader)."""
    return {name: hint for name, hint in get_type_hints(cls).items() if isinstance(hint, type) and is_dataclass(hint)}


def flat_paths(
    params: Params,
    objectives: Sequence[str],
    levers: Sequence[str],
    terms: Sequence[str] = (),
    events: EventKeys = (),
    patrons: Sequence[str] = (),
) -> list[str]:
    """The scenario's dotted path of every leaf (the inverse of :func:`from_flat`'s naming)."""
    out = []
    ids = {"objectives": objectives, "levers": levers, "patrons": patrons}
    for path, _ in leaves(params):
        parts = path.split(".")
        if parts[0] in ids:
            parts[1] = ids[parts[0]][int(parts[1])]
        elif parts[0] == "events":
            event_id, positions = events[int(parts[1])]
            if parts[2] == "values":
                parts = ["events", event_id, "changes", str(positions[int(parts[3])]), "value"]
            else:
                parts[1] = event_id
        elif parts[0] == "terms":
            parts = ["terms", terms[int(parts[1])], "rejected_by", *parts[3:]]
        out.append(".".join(parts))
    return out


@cache
def register_pytrees() -> None:
    """Register every dataclass of this module (the parameters) and of :mod:`.war` and :mod:`.month` (the
    state) as a JAX pytree.

    Called by the JAX backend on import; registering twice is harmless (the second call does nothing).
    """
    import jax

    from ceasefire.model import month, war

    for namespace in (globals(), vars(war), vars(month)):
        for cls in namespace.values():
            if isinstance(cls, type) and is_dataclass(cls) and cls.__module__ == namespace["__name__"]:
                jax.tree_util.register_dataclass(cls, data_fields=[f.name for f in fields(cls)], meta_fields=[])
