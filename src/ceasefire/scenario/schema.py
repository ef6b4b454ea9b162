"""The scenario file format: a pydantic v2 schema, validated once at the edge.

A scenario is a TOML file whose tables are the fields of :class:`Scenario`: the war and its sources,
the two sides and their leaders (whose ``reasons`` are the named terms of the calculus), the terms,
ceasefire, levers, patrons and events, and the factors, claims and figures that explain and check it.
``docs/scenario-format.md`` describes every key; the flagship ``russia-ukraine-2026.toml`` uses them.

Every number is a parameter (:mod:`ceasefire.scenario.params`) naming its source.
Domains (rates non-negative, probabilities in [0, 1], ...) are checked on the whole support
of each distribution, so a sampled value can never leave its domain.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from pydantic.fields import FieldInfo

from ceasefire.scenario import bounds
from ceasefire.scenario.bounds import MAGNITUDE, Bound
from ceasefire.scenario.params import (
    ASSUMPTION,
    SMALLEST_POSITIVE,
    AnyParam,
    Param,
    _ParamBase,
)

SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SIDES = ("A", "B")


def _bounded(low: float, high: float, what: str, bound: Bound) -> AfterValidator:
    """A check that a parameter's support lies in its domain ``[low, high]`` (what it means: a share, a
    rate) and that everything sampling can give lies inside ``bound`` (where the model stays finite)."""

    def check(p: AnyParam) -> AnyParam:
        shown = p.describe()
        lo, hi = p.support()
        if not (math.isfinite(lo) or low == -math.inf) or not (math.isfinite(hi) or high == math.inf):
            raise ValueError(f"{what} must lie in [{low:g}, {high:g}], but {shown} is unbounded")
        if lo < low or hi > high:
            raise ValueError(f"{what} must lie in [{low:g}, {high:g}], but {shown} reaches [{lo:g}, {hi:g}]")
        lo, hi = p.sampled_range()
        if lo < bound.low or hi > bound.high:
            reach = f"{lo:g}" if lo == hi else f"[{lo:g}, {hi:g}]"
            within = f"[{bound.low:g}, {bound.high:g}]"
            raise ValueError(f"{what} must lie in {within}, but {shown} reaches {reach}: {bound.reason}")
        return p

    check.domain = (max(low, bound.low), min(high, bound.high))  # type: ignore[attr-defined]
    return AfterValidator(check)


NonNeg = Annotated[Param, _bounded(0.0, math.inf, "this value", MAGNITUDE)]
Positive = Annotated[Param, _bounded(SMALLEST_POSITIVE, math.inf, "this value (positive)", MAGNITUDE)]
Prob = Annotated[Param, _bounded(0.0, 1.0, "this probability or share", MAGNITUDE)]
Real = Annotated[Param, _bounded(-math.inf, math.inf, "this value", MAGNITUDE)]
Exponent = Annotated[Param, _bounded(0.0, math.inf, "this exponent", bounds.EXPONENT)]
LogBias = Annotated[Param, _bounded(-math.inf, math.inf, "this log-bias", bounds.LOG_BIAS)]
LogHazard = Annotated[Param, _bounded(0.0, math.inf, "this log-hazard coefficient", bounds.LOG_HAZARD)]
ShockRate = Annotated[Param, _bounded(0.0, math.inf, "this monthly hazard", bounds.SHOCK_RATE)]


_POS = SMALLEST_POSITIVE
ExchangeRatio = Annotated[Param, _bounded(_POS, math.inf, "this ratio", bounds.EXCHANGE_RATIO)]
Manpower = Annotated[Param, _bounded(_POS, math.inf, "this force", bounds.MANPOWER)]
Equipment = Annotated[Param, _bounded(_POS, math.inf, "this stock", bounds.EQUIPMENT)]
CasualtyRate = Annotated[Param, _bounded(_POS, math.inf, "this rate", bounds.CASUALTY_RATE)]
Level = Annotated[Param, _bounded(0.0, math.inf, "this level", bounds.LEVEL)]
Volatility = Annotated[Param, _bounded(0.0, math.inf, "this volatility", bounds.VOLATILITY)]
PainWeight = Annotated[Param, _bounded(0.0, math.inf, "this weight", bounds.PAIN_WEIGHT)]
RecordFactor = Annotated[Param, _bounded(0.0, math.inf, "this factor", bounds.RECORD_FACTOR)]
ShockMonths = Annotated[Param, _bounded(_POS, math.inf, "this decay time", bounds.SHOCK_MONTHS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a figure comes from."""

    author: str
    title: str
    date: str = Field(description="publication date, as precise as known")
    where: str = Field(description="publisher, outlet or file")
    url: str | None = None


class ScenarioMeta(_Strict):
    id: str = Field(pattern=SLUG)
    title: str
    start: dt.date
    horizon: int = Field(default=60, ge=1, le=600, description="months simulated")
    description: str = ""
    no_deal_at_start: bool = Field(
        default=False,
        description="the war is observed to go on at the start: parameter samples under which both "
        "leaders would settle in month 0 (without levers) are redrawn",
    )


class RunDefaults(_Strict):
    """Default run sizes; the command line overrides them."""

    samples: int = Field(default=200, ge=1, le=1_000_000, description="outer parameter samples")
    paths: int = Field(default=200, ge=1, le=10_000_000, description="inner paths per sample")
    seed: int = Field(default=0, ge=0, lt=2**63)
    lookahead: int = Field(default=6, ge=1, le=120, description="myopic look-ahead, months")


class Territory(_Strict):
    """The contested country's land, in km², and the front's recent pace."""

    area_km2: Positive
    held_km2: NonNeg = Field(description="held by side A at the start")
    gain_km2_per_month: Real = Field(description="mean monthly gain of A at the start's power ratio")
    gain_sd_km2: NonNeg
    power_elasticity: Exponent = Field(description="theta: gain scales as (rho/rho0)^theta")
    other_area_km2: NonNeg | None = Field(
        default=None,
        description="side A's own land, outside area_km2, that side B can take once A holds none of area_km2: "
        "A's holding may fall to -other_area_km2 (0 if left out: it stops at 0)",
    )

    @model_validator(mode="after")
    def _held_inside(self) -> Territory:
        if self.held_km2.support()[1] > self.area_km2.support()[0]:
            raise ValueError("held_km2 can exceed area_km2: side A cannot hold more than the whole area")
        return self


class Objective(_Strict):
    """A named area A tries to take; objectives fill in the order listed as A's line advances."""

    id: str = Field(pattern=SLUG)
    name: str
    area_km2: Positive


class Attrition(_Strict):
    casualties_per_day: CasualtyRate = Field(description="side A's casualties per day at the start")
    exchange_ratio: ExchangeRatio = Field(description="A's casualties per casualty of B at the start")
    intensity_sd: NonNeg = Field(description="sd of the monthly log-intensity of fighting")
    fire_exponent: Exponent = Field(
        description="q: a side's losses scale as (enemy power / its start)^q; 1 is Lanchester's aimed fire"
    )


class Forces(_Strict):
    manpower: Manpower = Field(description="troops committed, persons")
    recruitment: NonNeg = Field(description="persons per month")
    recruitment_pain_elasticity: NonNeg = Field(description="recruitment falls as exp(-e * pain)")
    permanent_loss_share: Prob = Field(description="share of casualties that leave the force")
    separation: Prob = Field(description="share of the force leaving each month for other reasons")
    manpower_exponent: Exponent
    equipment: Equipment = Field(description="equipment index at the start (1 = start stock)")
    equipment_exponent: Exponent
    equipment_loss: Prob = Field(description="share of the stock lost per month at the start's intensity")
    equipment_production: NonNeg = Field(description="index units produced per month")
    equipment_storage: NonNeg = Field(description="index units restorable from storage (finite)")
    equipment_restoration: NonNeg = Field(description="index units restored per month while storage lasts")
    aid_level: Level = Field(description="military aid (equipment) received, 1 = the level at the start")
    aid_reliability: Prob = Field(description="probability that the month's aid arrives")
    aid_equipment: NonNeg = Field(description="index units delivered per month at aid level 1")
    aid_finance: NonNeg = Field(description="budget units per month at finance level 1")
    finance_level: NonNeg | None = Field(
        default=None, description="budget support received, 1 = the level at the start (1 if left out)"
    )

    @model_validator(mode="after")
    def _bounded_growth(self) -> Forces:
        most = bounds.MONTHLY_GROWTH_MAX
        recruits = self.recruitment.sampled_range()[1] / self.manpower.sampled_range()[0]
        if recruits > most:
            raise ValueError(
                f"recruitment: up to {recruits:g} times the start's manpower a month; at most {most:g}: "
                f"{bounds.GROWTH_REASON}"
            )
        added = (
            self.equipment_production.sampled_range()[1]
            + self.equipment_restoration.sampled_range()[1]
            + self.aid_equipment.sampled_range()[1] * self.aid_level.sampled_range()[1]
        )
        stock = added / self.equipment.sampled_range()[0]
        if stock > most:
            raise ValueError(
                f"equipment_production: production, restoration and aid deliveries (aid_equipment x aid_level) add up "
                f"to {stock:g} times the start's stock a month; at most {most:g}: {bounds.GROWTH_REASON}"
            )
        return self


class Economy(_Strict):
    unit: str = Field(description="currency unit of the budget figures, e.g. 'trn RUB'")
    reserves: NonNeg
    revenue: NonNeg = Field(description="revenue other than commodities, per month")
    commodity_revenue: NonNeg = Field(description="oil and gas revenue per month at the start")
    commodity_volatility: Volatility = Field(description="monthly sd of the log commodity price")
    commodity_reversion: Prob = Field(description="share of the log price gap closed per month")
    sanctions: Prob = Field(description="extra share of commodity revenue lost to new sanctions")
    spending_war: NonNeg = Field(description="war spending per month")
    spending_other: NonNeg = Field(description="other spending per month")
    reserve_share: Prob = Field(description="share of a deficit drawn from reserves")
    peace_war_spending: Prob = Field(description="share of war spending kept in peace")
    exhaustion_pain: PainWeight = Field(description="weight of unfunded spending in economic pain")
    demobilization_months: NonNeg | None = Field(
        default=None,
        description="time constant of war spending's fall to its peace share after a settlement (0: at once)",
    )


class Stability(_Strict):
    initial: Prob
    recovery: Prob = Field(description="share of the gap to the initial level closed per month")
    pain_sensitivity: NonNeg
    casualty_sensitivity: NonNeg
    noise_sd: NonNeg


class Renewal(_Strict):
    """Decisions on the external money a side receives (budget support and military aid): at each, the
    flows are renewed as they are, cut or raised, with sourced, uncertain probabilities."""

    every_months: int = Field(ge=1, le=600, description="months between decisions")
    first_month: int = Field(default=0, ge=0, le=600, description="month of the first decision")
    cut: Prob = Field(description="probability that a decision cuts the flows")
    cut_to: NonNeg = Field(description="the flows' level after a cut, relative to before")
    raised: Prob = Field(description="probability that a decision raises the flows")
    raise_to: NonNeg = Field(description="the flows' level after a raise, relative to before")

    @model_validator(mode="after")
    def _probabilities(self) -> Renewal:
        if self.cut.support()[1] + self.raised.support()[1] > 1.0:
            raise ValueError("cut and raised can sum to more than 1: they are probabilities of one decision")
        return self


class Side(_Strict):
    name: str
    forces: Forces
    economy: Economy
    stability: Stability
    renewal: Renewal | None = None


class Reasons(_Strict):
    """The named reasons of a leader's calculus; each has a neutral value of 0.

    Numbering follows Aron (2025); ``punishment`` follows Goemans (2000).
    """

    legitimacy: LogHazard = Field(description="1: log-hazard reduction while at war")
    militarism: NonNeg = Field(description="2: extra flow value per month at war")
    war_economy: ShockRate = Field(description="3: monthly hazard added by converting the war economy")
    bonuses_and_wages: ShockRate = Field(description="4: hazard added by ending bonuses and war wages")
    veterans: ShockRate = Field(description="4: hazard added by returning veterans")
    risk_of_change: ShockRate = Field(description="5: hazard added by any sharp change")
    opportunism: NonNeg = Field(description="6: aspiration raised per unit of concession received")
    need_for_victory: ShockRate = Field(description="7: hazard added by a peace short of the aims")
    punishment: NonNeg = Field(description="personal cost of removal, in months of office value")
    war_cost: NonNeg | None = Field(
        default=None, description="a direct personal cost of war per month at war, months of office (0 if left out)"
    )


class Aim(_Strict):
    """A war aim; its weight counts toward the leader's victory score when met."""

    id: str = Field(pattern=SLUG)
    name: str
    weight: float = Field(ge=0)
    objective: str | None = Field(default=None, description="an objective that meets or defeats the aim")
    effect: Literal["achieved_by", "lost_by"] = "achieved_by"
    status_quo: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="how far the aim is met while the war goes on, for an aim tied to no objective",
    )
    source: str
    note: str | None = None

    @model_validator(mode="after")
    def _lost_needs_objective(self) -> Aim:
        if self.effect == "lost_by" and self.objective is None:
            raise ValueError(
                "effect = 'lost_by' needs an objective whose loss defeats the aim; an aim tied to no objective "
                "is met as far as its status_quo says while the war goes on"
            )
        if self.objective is not None and self.status_quo != 0.0:
            raise ValueError("status_quo is for an aim tied to no objective: the battlefield decides the others")
        return self


class Successor(_Strict):
    reset: Prob = Field(description="share of the person-tied reasons that resets to neutral")
    hazard_multiplier: Positive = Field(description="a new leader's base hazard relative to the incumbent's")


class Leader(_Strict):
    name: str
    regime: Literal["personalist", "military", "single-party", "democracy", "other"]
    discount: Prob = Field(description="monthly discount factor")
    base_hazard: Prob = Field(description="annual probability of losing office at the start")
    casualty_hazard: LogHazard = Field(description="log-hazard per unit of casualties relative to the start")
    pain_hazard: LogHazard = Field(description="log-hazard per unit of economic pain")
    instability_hazard: LogHazard = Field(description="log-hazard per unit of lost stability")
    shock_months: ShockMonths = Field(description="decay time of the post-war transition shock, months")
    victory_relief: NonNeg = Field(description="gamma: the shock scales as (1 - victory)^gamma")
    punishment_lost_war: NonNeg = Field(description="extra punishment, relative, for a lost war")
    aspiration: Positive = Field(description="victory score he holds out for (1 = his stated aims)")
    concession_received: NonNeg = Field(description="concessions offered to him outside the terms")
    optimism: LogBias = Field(description="log-bias on his own side's combat power in his beliefs")
    resolve_doubt: LogBias | None = Field(
        default=None, description="log-bias on the other leader's hazard at war in his beliefs (0 if left out)"
    )
    policy_weight: NonNeg | None = Field(
        default=None,
        description="psi: months of office a month of full attainment of his aims is worth to him (0 if left out)",
    )
    audience_hazard: NonNeg | None = Field(
        default=None,
        description="log-hazard of removal added per unit share of his public that rejects the terms he signed: "
        "set on signing, it raises his removal hazard at war (after a breakdown) and in peace until he leaves office",
    )
    reasons: Reasons
    successor: Successor
    aims: list[Aim] = Field(min_length=1)


class Ratification(_Strict):
    """Signed terms must pass a referendum or a vote: they pass with probability
    ``Phi((support - threshold) / poll_error)``, support being the share that does not reject them."""

    side: Literal["A", "B"]
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="share of support needed")
    poll_error: float = Field(default=0.05, gt=0.0, le=0.5, description="sd of the vote's share about the poll")
    blocked_months: int = Field(
        default=6, ge=0, le=120, description="months the terms are off the table after a failed vote"
    )


class Terms(_Strict):
    """A settlement that can be on the table."""

    id: str = Field(pattern=SLUG)
    name: str
    grants: list[str] = Field(default_factory=list, description="ids of aims (of either side) it meets")
    concession_to_A: float = Field(default=0.0, ge=0, description="victory score given to A beyond aims")
    security_guarantees: bool = False
    sanctions_relief: float = Field(default=0.0, ge=0, le=1, description="share of sanctions lifted")
    available_from: int = Field(default=0, ge=0, description="first month it is on the table")
    rejected_by: dict[Literal["A", "B"], Prob] = Field(
        default_factory=dict, description="share of each side's public that rejects the terms (a poll)"
    )
    ratification: Ratification | None = None
    removes_leader: list[Literal["A", "B"]] = Field(
        default_factory=list, description="sides whose leader leaves office when the terms are signed"
    )


class Ceasefire(_Strict):
    breakdown: Prob = Field(description="monthly probability that a ceasefire breaks down, in the long run")
    breakdown_early: Prob | None = Field(
        default=None, description="the same at signing, fading to `breakdown` (equal to it if left out)"
    )
    fragility_months: Positive | None = Field(
        default=None, description="time constant of the early fragility's fade, months (12 if left out)"
    )
    guarantee_factor: NonNeg = Field(description="breakdown multiplier with security guarantees")
    record_factor: RecordFactor = Field(description="breakdown multiplier per earlier broken agreement")
    prior_broken: int = Field(default=0, ge=0, description="agreements broken before the start")
    resume_cost: NonNeg | None = Field(
        default=None, description="months of office a leader loses by breaking a ceasefire (0 if left out)"
    )
    guarantee_cost: NonNeg | None = Field(
        default=None, description="extra months of office lost by breaking one with security guarantees"
    )
    resume_noise: NonNeg | None = Field(
        default=None,
        description="spread of the decision to resume, months of office (0 or left out: no leader resumes by choice)",
    )
    negotiation_months: NonNeg | None = Field(
        default=None, description="months of talks between the first month both accept terms and the signing"
    )

    @field_validator("prior_broken")
    @classmethod
    def _few_broken(cls, n: int) -> int:
        if n > bounds.MAX_PRIOR_BROKEN:
            raise ValueError(f"expected at most {bounds.MAX_PRIOR_BROKEN}, got {n}: {bounds.RECORD_FACTOR.reason}")
        return n


class Lever(_Strict):
    """An outside policy that changes one parameter, with a cost and a credibility."""

    id: str = Field(pattern=SLUG)
    name: str
    target: str = Field(description="dotted path of the parameter it changes")
    effect: Literal["add", "multiply"] = "add"
    per_unit: Real = Field(description="change at intensity 1")
    intensity_max: float = Field(default=1.0, gt=0)
    cost_per_unit: NonNeg
    cost_unit: str
    credibility: Prob = Field(description="probability it is carried out and sustained")
    start_month: int = Field(default=0, ge=0, le=600, description="first month the lever acts")

    @model_validator(mode="after")
    def _finite_change(self) -> Lever:
        bound = bounds.LEVER_INTENSITY
        if self.intensity_max > bound.high:
            raise ValueError(
                f"intensity_max: expected at most {bound.high:g}, got {self.intensity_max:g}: {bound.reason}"
            )
        lo, hi = self.per_unit.sampled_range()
        change = max(abs(lo), abs(hi)) * self.intensity_max
        if change > bounds.MAX_MAGNITUDE:
            raise ValueError(
                f"per_unit: its largest change, {max(abs(lo), abs(hi)):g} per unit x intensity_max "
                f"{self.intensity_max:g} = {change:g}, exceeds {bounds.MAX_MAGNITUDE:g}: {bounds.MAGNITUDE.reason}"
            )
        return self


MAX_FACTORS = 12
"""Factor groups per leader at most: exact Shapley values evaluate all 2^k coalitions."""


class PatronLeader(_Strict):
    """A patron's leader (or his successor): how much he cares about the backed side's aims, and what the
    war costs him at home."""

    name: str
    policy_weight: NonNeg = Field(
        description="psi: months of office a month of full attainment of his aims is worth to him"
    )
    war_cost: NonNeg = Field(description="months of office a month of war costs him at home")
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        description="aim id -> weight, over the backed side's aims (aims left out weigh 0)"
    )


class Patron(_Strict):
    """A third party backing one side: the aid it supplies, whether it holds a veto over that side's terms,
    its leader and the successor who decides afresh when an event replaces him."""

    id: str = Field(pattern=SLUG)
    name: str
    backs: Literal["A", "B"]
    veto: bool = Field(default=False, description="the backed side cannot sign terms the patron refuses")
    aid_share: Prob = Field(
        description="share of the backed side's military aid and budget support (at the start's level) it supplies"
    )
    leader: PatronLeader
    successor: PatronLeader
    note: str | None = None


class ParameterChange(_Strict):
    """An event's change to one parameter, from its month on."""

    target: str = Field(description="dotted path of the parameter it changes")
    effect: Literal["set", "add", "multiply"] = "set"
    value: Real = Field(description="the new value (set), the change (add) or the factor (multiply)")


class LeverStart(_Strict):
    """An event that starts a lever at an intensity."""

    lever: str
    intensity: float = Field(gt=0, description="the lever's intensity from the event's month on")


class PatronChange(_Strict):
    """An event that replaces a patron's leader by his successor."""

    patron: str


class LeaderChange(_Strict):
    """An event that removes a side's leader; his successor takes over."""

    leader: Literal["A", "B"]


CHANGE_KEYS = ("target", "lever", "patron", "leader")
"""The key that says what an event's change does."""


def _change_kind(value: Any) -> str | None:
    keys = value if isinstance(value, dict) else type(value).model_fields if isinstance(value, BaseModel) else ()
    found = [k for k in CHANGE_KEYS if k in keys]
    return f"change[{found[0]}]" if found else None


Change = Annotated[
    Annotated[ParameterChange, Tag("change[target]")]
    | Annotated[LeverStart, Tag("change[lever]")]
    | Annotated[PatronChange, Tag("change[patron]")]
    | Annotated[LeaderChange, Tag("change[leader]")],
    Discriminator(
        _change_kind,
        custom_error_type="change",
        custom_error_message=(
            'a change is a table with one of target (a parameter: {target = "...", effect = "set", value = '
            '{...}}), lever ({lever = "...", intensity = 1}), patron ({patron = "..."}) or leader ({leader = "A"})'
        ),
    ),
]


EVENT_TIMING = ("month", "date", "probability", "within")


class Event(_Strict):
    """Something that happens on a date, or may happen: changes to parameters, levers, patrons or leaders
    from its month on."""

    id: str = Field(pattern=SLUG)
    name: str
    source: str
    note: str | None = None
    month: int | None = Field(default=None, ge=0, le=600, description="the month it happens (scheduled)")
    date: dt.date | None = Field(default=None, description="the date it happens (scheduled)")
    probability: Prob | None = Field(
        default=None, description="the probability that it happens in any month it has not yet (uncertain)"
    )
    within: NonNeg | None = Field(default=None, description="a distribution of its month (drawn per sample)")
    changes: list[Change] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_timing(self) -> Event:
        given = [k for k in EVENT_TIMING if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of month, date (scheduled), probability or within (uncertain); got "
                + (" and ".join(given) if given else "none")
            )
        return self

    def month_from(self, start: dt.date) -> int | None:
        """The month of a scheduled event counted from the scenario's ``start`` (the month ``t`` whose span
        ``[start + t months, start + t + 1 months)`` holds its date); ``None`` for an uncertain one."""
        if self.date is None:
            return self.month
        d = self.date
        return (d.year - start.year) * 12 + (d.month - start.month) - (1 if d.day < start.day else 0)


class Factor(_Strict):
    """A named group of parameters of a leader's calculus (``ceasefire explain``).

    Each group is switched as one between its scenario values and its neutral values; the
    explanation is the exact Shapley value of each group in the gap between fighting on and
    the best deal. ``params`` are dotted parameter paths in which ``{side}`` stands for the
    explained leader's side and ``{other}`` for the other side, or a table of lists per side.
    """

    id: str = Field(pattern=SLUG)
    name: str
    sides: list[Literal["A", "B"]] | None = Field(
        default=None, min_length=1, description="the leaders whose gap it explains (default: both, or params' keys)"
    )
    params: list[str] | dict[Literal["A", "B"], list[str]] = Field(description="parameter paths it switches")
    neutral: float | dict[str, float] = Field(
        default=0.0, description="neutral value of every path, or a table path -> value (others 0)"
    )
    source: str
    note: str | None = None

    def applies_to(self) -> list[str]:
        """The sides whose calculus the group belongs to."""
        if self.sides is not None:
            return list(self.sides)
        return [s for s in SIDES if s in self.params] if isinstance(self.params, dict) else list(SIDES)

    def _raw(self, side: str) -> list[str]:
        if isinstance(self.params, dict):
            return list(self.params.get(side, []))  # type: ignore[call-overload]
        return list(self.params)

    def paths(self, side: str) -> list[str]:
        """The parameter paths for the leader of ``side``, placeholders filled in."""
        other = "B" if side == "A" else "A"
        return [p.replace("{side}", side).replace("{other}", other) for p in self._raw(side)]

    def neutral_values(self, side: str) -> dict[str, float]:
        """Neutral value of each of the paths of :meth:`paths`."""
        table = self.neutral if isinstance(self.neutral, dict) else {}
        default = 0.0 if isinstance(self.neutral, dict) else float(self.neutral)
        return {
            path: float(table.get(key, table.get(path, default)))
            for key, path in zip(self._raw(side), self.paths(side), strict=True)
        }


class Claim(_Strict):
    """A claim of a source, restated as a checkable query (``ceasefire claims``)."""

    id: str = Field(pattern=SLUG)
    source: str
    asserts: str = Field(description="what the source asserts, paraphrased")
    query: str = Field(description="the claim in the claims query language (docs/explain-and-claims.md)")
    note: str | None = None

    @field_validator("query")
    @classmethod
    def _parses(cls, text: str) -> str:
        from ceasefire.scenario.query import parse_query

        parse_query(text)
        return text


class Figure(_Strict):
    """A figure stated by a source, for the consistency checks (``[[consistency]]``)."""

    id: str = Field(pattern=SLUG)
    name: str = Field(description="what the figure measures")
    value: float
    low: float | None = Field(default=None, description="a stated range's low end (default: value)")
    high: float | None = Field(default=None, description="a stated range's high end (default: value)")
    qualifier: Literal["about", "at least", "at most"] = Field(
        default="about", description="'over 1.2 million' is at least, 'as many as 1,000' at most"
    )
    unit: str
    date: dt.date = Field(description="the date it refers to (for a rate or an average: the period's end)")
    since: dt.date | None = Field(default=None, description="start of the period of a rate or an average")
    source: str
    quote: str = Field(default="", description="the source's words")
    note: str | None = None

    @model_validator(mode="after")
    def _range(self) -> Figure:
        low = self.value if self.low is None else self.low
        high = self.value if self.high is None else self.high
        if not (math.isfinite(low) and math.isfinite(high) and low <= self.value <= high):
            raise ValueError("expected low <= value <= high")
        if self.since is not None and self.since >= self.date:
            raise ValueError("since must be before date")
        return self


class Consistency(_Strict):
    """Figures that should agree: a number implied by some figures against the figures stated.

    ``implied_rate``: one total over its period (``since`` .. ``date``), or the change between two
    totals, per day. ``implied_total``: a rate per day times the days of its period.
    ``share_of_whole``: a share in percent (first figure) of a whole (second figure).
    """

    id: str = Field(pattern=SLUG)
    name: str
    check: Literal["implied_rate", "implied_total", "share_of_whole"]
    figures: list[str] = Field(min_length=1, max_length=2, description="the figures the number is implied by")
    against: list[str] = Field(min_length=1, description="the stated figures it is compared with")
    scale: float = Field(default=1.0, gt=0, description="multiplies the implied number (a unit conversion)")
    tolerance: float = Field(default=0.1, ge=0, lt=1, description="relative slack around the stated figures")
    note: str | None = None


class Scenario(_Strict):
    scenario: ScenarioMeta
    run: RunDefaults = Field(default_factory=RunDefaults)
    sources: dict[str, Source]
    territory: Territory
    objectives: list[Objective] = Field(default_factory=list)
    attrition: Attrition
    sides: dict[Literal["A", "B"], Side]
    leaders: dict[Literal["A", "B"], Leader]
    terms: list[Terms] = Field(min_length=1)
    ceasefire: Ceasefire
    levers: list[Lever] = Field(default_factory=list)
    patrons: list[Patron] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    factors: list[Factor] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    consistency: list[Consistency] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        for key in ("sides", "leaders"):
            missing = [s for s in SIDES if s not in getattr(self, key)]
            if missing:
                raise ValueError(f"[{key}] needs both A and B; missing {', '.join(missing)}")
        if ASSUMPTION in self.sources:
            raise ValueError(f"'{ASSUMPTION}' is reserved and cannot be a key of [sources]")
        paths = dict(iter_params(self))
        for path, p in paths.items():
            _check_source(self, path, p.source)
        for key in "objectives terms levers patrons events factors claims figures consistency".split():
            _unique(key, [entry.id for entry in getattr(self, key)])
        objectives = {o.id for o in self.objectives}
        all_aims: list[str] = []
        for side in SIDES:
            aims = self.leaders[side].aims  # type: ignore[index]
            ids = [a.id for a in aims]
            _unique(f"leaders.{side}.aims", ids)
            all_aims += ids
            for aim in aims:
                if aim.objective is not None and aim.objective not in objectives:
                    raise ValueError(
                        f"leaders.{side}.aims '{aim.id}': objective '{aim.objective}' is not among "
                        f"[[objectives]] ({_listed(objectives)})"
                    )
                _check_source(self, f"leaders.{side}.aims '{aim.id}'", aim.source)
            if sum((a.weight for a in aims), 0.0) <= 0:
                raise ValueError(f"leaders.{side}.aims: the weights must not all be zero")
        _unique("aims of the two leaders", all_aims)
        aim_ids = set(all_aims)
        for t in self.terms:
            _unique(f"terms '{t.id}': grants", t.grants, "aim")
            for g in t.grants:
                if g not in aim_ids:
                    raise ValueError(f"terms '{t.id}': grants unknown aim '{g}' (aims: {_listed(aim_ids)})")
        for lv in self.levers:
            _check_target(paths, f"levers '{lv.id}'", lv.target)
            if lv.start_month >= self.scenario.horizon:
                raise ValueError(
                    f"levers '{lv.id}': start_month {lv.start_month} is beyond the horizon "
                    f"({self.scenario.horizon} months): the lever would never act"
                )
            fixed = _fixed_at_start(lv.target)
            if lv.start_month > 0 and fixed:
                raise ValueError(
                    f"levers '{lv.id}': start_month {lv.start_month} > 0, but its target '{lv.target}' {fixed}"
                )
        _check_patrons(self)
        _check_events(self, paths)
        _check_factors(self, paths)
        _check_claims(self)
        _check_figures(self)
        return self


def _listed(ids: Iterable[str]) -> str:
    """The ids sorted, as ``a, b, c`` (``none`` if there are none)."""
    return ", ".join(sorted(ids)) or "none"


def _unique(what: str, ids: list[str], kind: str = "id") -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what}: {kind} '{i}' appears twice")
        seen.add(i)


def iter_params(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, AnyParam]]:
    """Every parameter in a (validated) model with its dotted path, in file order.

    Paths look like ``sides.A.forces.manpower`` or ``objectives.rest-of-donetsk.area_km2``;
    list entries are named by their ``id``.
    """
    for name in type(model).model_fields:
        yield from _walk(getattr(model, name), f"{prefix}{name}")


def _walk(value: object, path: str) -> Iterator[tuple[str, AnyParam]]:
    if isinstance(value, _ParamBase):
        yield path, value  # type: ignore[misc]
    elif isinstance(value, BaseModel):
        yield from iter_params(value, path + ".")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            key = getattr(v, "id", str(i))
            yield from _walk(v, f"{path}.{key}")


def field_at(model: BaseModel, path: str) -> FieldInfo | None:
    """The schema field that holds dotted ``path`` (the table's field for a table's key), list entries named
    by ``id``; ``None`` where the path names nothing."""
    node: object = model
    field_info = None
    for part in path.split("."):
        if isinstance(node, BaseModel) and part in type(node).model_fields:
            field_info, node = type(node).model_fields[part], getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and any(getattr(v, "id", None) == part for v in node):
            node = next(v for v in node if getattr(v, "id", None) == part)
        else:
            return None
    return field_info


def param_domain(model: BaseModel, path: str) -> tuple[float, float]:
    """The domain ``(low, high)`` declared for the parameter at ``path`` (``(-inf, inf)`` if none)."""
    field_info = field_at(model, path)
    metadata = list(getattr(field_info, "metadata", []))
    for member in get_args(getattr(field_info, "annotation", None)):  # an optional one: Annotated[...] | None
        if get_origin(member) is Annotated:
            metadata += list(member.__metadata__)
    domains = (getattr(getattr(meta, "func", None), "domain", None) for meta in metadata)
    return next((d for d in domains if d is not None), (-math.inf, math.inf))


START_STATE = (
    "territory.held_km2",
    "forces.manpower",
    "forces.equipment",
    "forces.equipment_storage",
    "economy.reserves",
    "stability.initial",
)
"""Parameters that set the war's state at the start (or the objectives' bounds): a change after the
start would be read by nothing."""

BELIEFS = ("optimism", "resolve_doubt")
"""A leader's beliefs: fixed when he imagines the war at the start."""


def _fixed_at_start(path: str) -> str | None:
    """Why a parameter cannot change after the start (``None`` where it can), as the end of a sentence
    about it."""
    if path.startswith("objectives.") or any(path == s or path.endswith("." + s) for s in START_STATE):
        return "sets the war's state at the start (or an objective's bounds): a later change would change nothing"
    if path.startswith("leaders.") and path.rsplit(".", 1)[-1] in BELIEFS:
        return "is a leader's belief, fixed when he imagines the war at the start"
    return None


def _check_patrons(scenario: Scenario) -> None:
    """Patrons: weights over aims of the side they back, not all zero."""
    for j in scenario.patrons:
        aims = [a.id for a in scenario.leaders[j.backs].aims]  # type: ignore[index]
        for role in ("leader", "successor"):
            weights = getattr(j, role).weights
            for aim in weights:
                if aim not in aims:
                    raise ValueError(
                        f"patrons '{j.id}': {role}.weights: '{aim}' is not an aim of side {j.backs}, which the "
                        f"patron backs (aims: {', '.join(aims)})"
                    )
            if sum(weights.values(), 0.0) <= 0:
                raise ValueError(
                    f"patrons '{j.id}': {role}.weights: expected a positive weight on some aim of side {j.backs}"
                )


def _check_events(scenario: Scenario, params: dict[str, AnyParam]) -> None:
    """Events: known sources, a month inside the horizon, and changes to things that exist."""
    meta = scenario.scenario
    levers = {lv.id: lv for lv in scenario.levers}
    patrons = [j.id for j in scenario.patrons]
    for e in scenario.events:
        _check_source(scenario, f"events '{e.id}'", e.source)
        month = e.month_from(meta.start)
        if e.date is not None and e.date < meta.start:
            raise ValueError(f"events '{e.id}': date {e.date} is before the scenario's start ({meta.start})")
        if month is not None and month >= meta.horizon:
            when = f"date {e.date} (month {month}) is" if e.date is not None else f"month {month} is"
            raise ValueError(
                f"events '{e.id}': {when} beyond the horizon ({meta.horizon} months from {meta.start}): "
                "it would never happen in the run"
            )
        for i, ch in enumerate(e.changes):
            where = f"events '{e.id}': changes.{i}"
            if isinstance(ch, ParameterChange):
                _check_change(scenario, params, where, ch)
            elif isinstance(ch, LeverStart):
                if ch.lever not in levers:
                    raise ValueError(f"{where}: unknown lever '{ch.lever}' (levers: {', '.join(levers) or 'none'})")
                top = levers[ch.lever].intensity_max
                if ch.intensity > top:
                    raise ValueError(
                        f"{where}: lever '{ch.lever}' intensity {ch.intensity:g} is above its intensity_max {top:g}"
                    )
            elif isinstance(ch, PatronChange) and ch.patron not in patrons:
                raise ValueError(f"{where}: unknown patron '{ch.patron}' (patrons: {', '.join(patrons) or 'none'})")


def _check_param(params: dict[str, AnyParam], where: str, key: str, path: str) -> None:
    """Raise unless ``path`` is a parameter of the scenario; the message suggests parameters named alike."""
    if path not in params:
        close = [p for p in params if p.endswith(path.split(".")[-1])]
        hint = f"; did you mean {' or '.join(close[:3])}?" if close else ""
        raise ValueError(f"{where}: {key} '{path}' is not a parameter of this scenario{hint}")


def _check_target(params: dict[str, AnyParam], where: str, target: str) -> None:
    """A lever's or an event's target: a parameter of the war, not a lever's or an event's own number (those
    are drawn before any lever or event is applied: the change would be ignored)."""
    _check_param(params, where, "target", target)
    if target.startswith(("levers.", "events.")):
        raise ValueError(
            f"{where}: target '{target}' is a lever's or an event's own number; levers and events change a "
            "parameter of the war (sides, leaders, territory, attrition, ceasefire, terms, objectives, patrons)"
        )


def _check_change(scenario: Scenario, params: dict[str, AnyParam], where: str, ch: ParameterChange) -> None:
    """A parameter change: a parameter of the war that is read after the start; a set value in its domain."""
    _check_target(params, where, ch.target)
    fixed = _fixed_at_start(ch.target)
    if fixed:
        raise ValueError(f"{where}: target '{ch.target}' {fixed}")
    if ch.effect == "set":
        low, high = param_domain(scenario, ch.target)
        lo, hi = ch.value.support()
        if lo < low or hi > high:
            raise ValueError(
                f"{where}: value {ch.value.describe()} is outside the domain [{low:g}, {high:g}] of '{ch.target}'"
            )


def _check_source(scenario: Scenario, where: str, source: str) -> None:
    """Raise unless ``source`` is a key of ``[sources]`` or ``'assumption'``."""
    if source != ASSUMPTION and source not in scenario.sources:
        raise ValueError(
            f"{where}: source '{source}' is not in [sources] (known: {_listed(scenario.sources)}; or use "
            f"'{ASSUMPTION}' with a note)"
        )


def _check_factors(scenario: Scenario, params: dict[str, AnyParam]) -> None:
    """Factor groups: known parameters, neutral values in their domains, no parameter in two groups."""
    for f in scenario.factors:
        _check_source(scenario, f"factors '{f.id}'", f.source)
        if isinstance(f.neutral, dict):
            listed = {p for s in f.applies_to() for p in (*f._raw(s), *f.paths(s))}
            unknown = [k for k in f.neutral if k not in listed]
            if unknown:
                raise ValueError(f"factors '{f.id}': neutral names '{unknown[0]}', which is not among its params")
    for side in SIDES:
        owner: dict[str, str] = {}
        groups = [f for f in scenario.factors if side in f.applies_to()]
        if len(groups) > MAX_FACTORS:
            raise ValueError(
                f"factors: {len(groups)} groups apply to side {side}; at most {MAX_FACTORS} (exact Shapley "
                "values evaluate 2^k coalitions)"
            )
        for f in groups:
            if not f.paths(side):
                raise ValueError(f"factors '{f.id}': params lists no parameter for side {side}")
            for path, value in f.neutral_values(side).items():
                _check_param(params, f"factors '{f.id}'", "params", path)
                low, high = param_domain(scenario, path)
                if not (low <= value <= high):
                    raise ValueError(
                        f"factors '{f.id}': neutral value {value:g} of '{path}' is outside its domain "
                        f"[{low:g}, {high:g}]"
                    )
                if path in owner:
                    raise ValueError(
                        f"factors '{f.id}': params '{path}' is already switched by factor '{owner[path]}' "
                        f"for side {side} (a parameter belongs to one group)"
                    )
                owner[path] = f.id


def _check_claims(scenario: Scenario) -> None:
    """Claims: known sources, and every lever, terms and objective a query names exists; a settlement on
    terms a public accepts needs every terms' poll of that public."""
    from ceasefire.scenario.query import QueryError, parse_query

    top = {lv.id: lv.intensity_max for lv in scenario.levers}
    terms = {t.id for t in scenario.terms}
    objectives = {o.id for o in scenario.objectives}
    for c in scenario.claims:
        _check_source(scenario, f"claims '{c.id}'", c.source)
        q = parse_query(c.query)
        problems: list[tuple[str, str]] = []  # (the key of its column, the message): the last found is reported
        for quantity in q.quantities():
            for term in [*quantity.terms, *([quantity.settled_on] if quantity.settled_on else [])]:
                if term not in terms:
                    problems.append((f"terms:{term}", f"unknown terms '{term}' (terms: {_listed(terms)})"))
            if quantity.objective is not None and quantity.objective not in objectives:
                what = f"unknown objective '{quantity.objective}' (objectives: {_listed(objectives)})"
                problems.append(("objective", what))
            side = quantity.accepted_by
            unpolled = ", ".join(repr(t.id) for t in scenario.terms if side is not None and side not in t.rejected_by)
            if unpolled:
                why = f"carry no poll of {side}'s public (rejected_by.{side}): whether it accepts them is unknown"
                problems.append(("accepted", f"terms {unpolled} {why}"))
        for i, operand in enumerate(q.operands):
            for lever in operand.levers:
                if lever.id not in top:
                    known = ", ".join(top) or "none"
                    problems.append((f"{i}:lever:{lever.id}", f"unknown lever '{lever.id}' (levers: {known})"))
                elif not 0.0 < lever.intensity <= top[lever.id]:
                    why = f"intensity must lie in (0, {top[lever.id]:g}], got {lever.intensity:g}"
                    problems.append((f"{i}:intensity:{lever.id}", f"lever '{lever.id}': {why}"))
        if problems:
            key, message = problems[-1]
            raise ValueError(f"claims.{c.id}.query: {QueryError(q.text, q.columns[key], message)}")


def _check_figures(scenario: Scenario) -> None:
    """Figures and consistency checks: known sources and figures, the right figures for each check."""
    figures = {f.id: f for f in scenario.figures}
    for f in scenario.figures:
        _check_source(scenario, f"figures '{f.id}'", f.source)
    for c in scenario.consistency:
        for fid in [*c.figures, *c.against]:
            if fid not in figures:
                raise ValueError(f"consistency '{c.id}': figure '{fid}' is not among [[figures]]")
        given = [figures[fid] for fid in c.figures]
        if c.check == "implied_rate" and len(given) == 1 and given[0].since is None:
            raise ValueError(f"consistency '{c.id}': figures: one total implies a rate only with its 'since' date")
        if c.check == "implied_rate" and len(given) == 2 and given[0].date >= given[1].date:
            raise ValueError(f"consistency '{c.id}': figures: the two totals must be in date order")
        if c.check == "implied_total" and (len(given) != 1 or given[0].since is None):
            raise ValueError(f"consistency '{c.id}': figures: implied_total takes one rate with its 'since' date")
        if c.check == "share_of_whole" and len(given) != 2:
            raise ValueError(f"consistency '{c.id}': figures: share_of_whole takes a share and a whole")
