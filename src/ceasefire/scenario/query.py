"""The claims query language: a checkable statement about a scenario's outputs.

A claim's ``query`` is parsed with a real grammar (:data:`GRAMMAR`, an LALR parser built by
``lark``); nothing is ever evaluated as Python. Four forms::

    OPERAND  CMP  NUMBER
    OPERAND  CMP  [NUMBER *] OPERAND
    OPERAND  between  NUMBER  and  NUMBER
    lever "ID" [at X] [with credibility C] [and "ID" ...]  raises|lowers  QUANTITY  by at least|at most  NUMBER

``CMP`` is one of ``<  <=  >  >=``. An ``OPERAND`` is a quantity (``P(settlement within 12 months)``,
``median casualties of A until settlement``, ...), or a lever's effect on one: ``effect of lever "ID"
[at X] [with credibility C] [and ...] on QUANTITY`` (with the levers minus without, on the same
samples). The quantities and what each counts are listed in ``docs/explain-and-claims.md``.

Durations are ``N months`` or ``N years`` (whole months in the end). A value that is never
reached within the horizon (no settlement, objective never taken) counts as larger than any
number, so medians and quantiles stay defined; a ``mean`` over such values is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedToken, VisitError

__all__ = [
    "GRAMMAR",
    "MAX_QUERY_LENGTH",
    "LeverSetting",
    "Operand",
    "Quantity",
    "Query",
    "QueryError",
    "excerpt",
    "parse_query",
]

MAX_QUERY_LENGTH = 1_000
"""Longest query, in characters (the longest of the flagship's is under 150)."""

GRAMMAR = r"""
?start: claim
?claim: comparison | versus | range_claim | lever_claim

comparison: operand CMP number
versus: operand CMP scale? operand
scale: number "*"
range_claim: operand _BETWEEN number _AND number
lever_claim: _LEVER lever_item (_AND lever_item)* DIRECTION quantity _BY bound number
bound: _AT _LEAST   -> at_least
     | _AT _MOST    -> at_most
DIRECTION: "raises" | "lowers"

?operand: quantity
       | "effect" "of" _LEVER lever_item (_AND lever_item)* "on" quantity   -> effect
lever_item: STRING (_AT number)? credibility?
credibility: "with" "credibility" number

?quantity: probability | statistic
probability: "P" "(" event given? ")"
given: BAR event
?event: "settlement" settle_terms? within               -> settle_event
      | "leader" SIDE "removed" within world?           -> removed_event
      | "ceasefire" "holds" duration                    -> holds_event
      | "ceasefire" "broken" broken_by? within          -> broken_event
      | "objective" STRING "taken" within               -> taken_event
settle_terms: "on" STRING ("," STRING)*                 -> terms
            | "on" "terms" "accepted" _BY SIDE "'s" "public"  -> accepted
?broken_by: _BY SIDE
world: "if" "war" "fought" "on"                         -> fought_on
     | "if" "settled" "on" STRING                       -> settled_on
?within: "within" duration
duration: number unit
unit: "months" -> months
    | "month"  -> months
    | "years"  -> years
    | "year"   -> years

statistic: stat subject
stat: "median"                    -> median
    | "mean"                      -> mean
    | "quantile" "(" number ")"   -> quantile
?subject: "settlement" "month"                       -> settle_month
        | "casualties" "of" SIDE scope               -> casualties
        | "months" "to" "take" "objective" STRING    -> take_month
scope: "until" "settlement"                          -> until_settlement
     | "over" "horizon"                              -> over_horizon
     | "until" "objective" STRING "taken"            -> until_objective
     | "during" duration "of" "war"                  -> during_war

number: NUMBER
SIDE: "A" | "B"
CMP: "<=" | ">=" | "<" | ">"
BAR: "|"
NUMBER: /[0-9][0-9_]*(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /"[^"\n]*"/
_LEVER: "levers" | "lever"
_AND: "and"
_AT: "at"
_BY: "by"
_LEAST: "least"
_MOST: "most"
_BETWEEN: "between"

%import common.WS
%ignore WS
"""

_READABLE = {
    "NUMBER": "a number",
    "STRING": 'a quoted id such as "freeze"',
    "SIDE": "a side, A or B",
    "CMP": "a comparison (<, <=, >, >=)",
    "DIRECTION": "'raises' or 'lowers'",
    "$END": "the end of the query",
}

MAX_MONTHS = 600

UNITS = {"P": "probability", "settle_month": "months", "take_month": "months", "casualties": "casualties"}
"""What a quantity counts: two quantities are compared only when they count the same thing."""


class QueryError(ValueError):
    """A query that does not parse or does not make sense, with the 1-based column of the problem."""

    def __init__(self, text: str, column: int, message: str) -> None:
        self.text = text
        self.column = column
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        shown, caret = excerpt(self.text, self.column)
        return f"column {self.column}: {self.message}\n      {shown}\n      {caret}"


EXCERPT = 72
"""Characters of a query (or a ``--where`` condition) shown around the column of a problem at most."""


def excerpt(text: str, column: int, width: int = EXCERPT) -> tuple[str, str]:
    """The part of one-line ``text`` shown for a problem at 1-based ``column``, and the caret line under it.

    A text longer than ``width`` is cut to a window around the column, with ``…`` where text is left
    out, so that a 100,000-character query is never echoed whole.
    """
    text = text.replace("\n", " ")
    column = min(max(column, 1), len(text) + 1)
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    end = start + width
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end] + tail, " " * (len(head) + column - 1 - start) + "^"


@dataclass(frozen=True)
class Quantity:
    """One model output a claim is about.

    ``kind`` is one of ``settle``, ``removed``, ``holds``, ``broken``, ``taken`` (probabilities,
    ``stat = "P"``), ``settle_month``, ``casualties``, ``take_month`` (statistics: ``median``,
    ``mean`` or ``quantile`` with level ``q``). ``months`` is the duration in months; ``scope`` of
    casualties is one of ``until_settlement``, ``over_horizon``, ``until_objective``, ``during_war``.

    ``terms`` restricts a settlement to those terms, ``accepted_by`` to terms fewer than half of that
    side's public reject (the terms' ``rejected_by`` polls). ``side`` is the leader removed, the side
    whose casualties are counted, or the leader who broke a ceasefire (``None``: broken by anyone or
    anything). ``world`` is where a removal is counted: ``None`` the run itself, ``"war"`` the war
    fought on without a deal, ``"settled"`` a world in which both sides sign ``settled_on`` from the
    start. ``given`` makes a probability conditional on a second event.
    """

    kind: str
    stat: str = "P"
    q: float = 0.5
    months: int | None = None
    terms: tuple[str, ...] = ()
    accepted_by: str | None = None
    side: str | None = None
    scope: str | None = None
    objective: str | None = None
    world: str | None = None
    settled_on: str | None = None
    given: Quantity | None = None

    @property
    def is_probability(self) -> bool:
        return self.stat == "P"

    @property
    def unit(self) -> str:
        """``probability``, ``months`` or ``casualties``."""
        return UNITS["P" if self.is_probability else self.kind]

    @property
    def world_key(self) -> str:
        """The world the quantity is read in: ``settled:ID``, ``war`` (the war fought on without a deal:
        objectives, ``during N months of war``, a removal ``if war fought on``) or else ``run``."""
        if self.world == "settled":
            return f"settled:{self.settled_on}"
        war = self.kind in ("taken", "take_month") or self.scope in ("until_objective", "during_war")
        return "war" if war or self.world == "war" else "run"

    def describe(self) -> str:
        """The quantity in words, for tables."""
        span = f"{self.months} months" if self.months is not None else ""
        if self.given is not None:
            inner = replace(self, given=None).describe()[2:-1]
            return f"P({inner} | {self.given.describe()[2:-1]})"
        on = f" on {' or '.join(self.terms)}" if self.terms else ""
        on = f" on terms accepted by {self.accepted_by}'s public" if self.accepted_by else on
        world = {None: "", "war": ", war fought on", "settled": f", if settled on {self.settled_on}"}[self.world]
        by = f" by {self.side}" if self.side else ""
        stat = f"quantile({self.q:g})" if self.stat == "quantile" else self.stat
        scope = {
            "until_settlement": "until settlement",
            "over_horizon": "over the horizon",
            "until_objective": f"until {self.objective} is taken (war fought on)",
            "during_war": f"during {span} of war",
        }.get(str(self.scope))
        return {
            "settle": f"P(settlement{on} within {span})",
            "removed": f"P(leader {self.side} removed within {span}{world})",
            "holds": f"P(ceasefire holds {span})",
            "broken": f"P(ceasefire broken{by} within {span})",
            "taken": f"P({self.objective} taken within {span}, war fought on)",
            "settle_month": f"{stat} settlement month",
            "take_month": f"{stat} months to take {self.objective} (war fought on)",
            "casualties": f"{stat} casualties of {self.side} {scope}",
        }[self.kind]


@dataclass(frozen=True)
class LeverSetting:
    """A lever as a claim sets it: its id, its intensity, and its credibility where the claim fixes it
    (``None``: the scenario's own, as sampled)."""

    id: str
    intensity: float = 1.0
    credibility: float | None = None

    def label(self) -> str:
        cred = "" if self.credibility is None else f" (credibility {self.credibility:g})"
        return f"{self.id}={self.intensity:g}{cred}"


@dataclass(frozen=True)
class Operand:
    """One side of a claim's comparison: a quantity, or the change in it that levers make.

    With ``levers`` the number is ``direction * (with the levers - without)`` on the same samples.
    ``factor`` multiplies it (the ``2 *`` of ``P(a) > 2 * P(b)``).
    """

    quantity: Quantity
    levers: tuple[LeverSetting, ...] = ()
    direction: int = 1
    factor: float = 1.0

    def describe(self) -> str:
        text = self.quantity.describe()
        if self.levers:
            sign = "" if self.direction > 0 else "-"
            text = f"{sign}change in {text} with {' + '.join(lv.label() for lv in self.levers)}"
        return text if self.factor == 1.0 else f"{self.factor:g} x {text}"


@dataclass(frozen=True)
class Query:
    """A parsed claim.

    The compared number is ``left`` (a quantity, or a lever's effect on it), or ``left - right`` for
    a comparison of two operands (``right`` carrying its factor). It is compared with ``threshold``
    by ``op`` (``<``, ``<=``, ``>``, ``>=``), or, with ``op = "between"``, must lie in
    ``[threshold, high]``. ``quantity`` is the left operand's.
    """

    text: str
    left: Operand
    op: str
    threshold: float
    right: Operand | None = None
    high: float | None = None
    columns: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def quantity(self) -> Quantity:
        return self.left.quantity

    @property
    def operands(self) -> tuple[Operand, ...]:
        return (self.left,) if self.right is None else (self.left, self.right)

    @property
    def is_lever(self) -> bool:
        """Some operand is a lever's effect (the claim needs runs with levers)."""
        return any(o.levers for o in self.operands)

    @property
    def is_comparison(self) -> bool:
        """Two operands compared with each other."""
        return self.right is not None

    def quantities(self) -> tuple[Quantity, ...]:
        """Every quantity the claim reads, conditions included."""
        return tuple(q for o in self.operands for q in (o.quantity, o.quantity.given) if q is not None)

    def settings(self) -> tuple[tuple[LeverSetting, ...], ...]:
        """The lever settings the claim needs runs of (besides the run without levers)."""
        return tuple(o.levers for o in self.operands if o.levers)


_CONSTANT: dict[str, Any] = {
    "months": 1,
    "years": 12,
    "fought_on": {"world": "war"},
    "median": ("median", 0.5),
    "mean": ("mean", math.nan),
    "settle_month": {"kind": "settle_month"},
    "until_settlement": {"scope": "until_settlement"},
    "over_horizon": {"scope": "over_horizon"},
    "at_least": ">=",
    "at_most": "<=",
}
"""What the grammar's rules without values build (months per unit, a world, a statistic, a scope, a bound)."""


@dataclass
class _Fail(Exception):
    column: int
    message: str


def _col(token: Token) -> int:
    return int(token.column or 1)


@dataclass
class _Raw:
    """An operand while the tree is built: its quantity's fields, their columns, its levers."""

    fields: dict[str, Any]
    column: int
    columns: dict[str, int] = field(default_factory=dict)
    levers: tuple[tuple[LeverSetting, int, int, int], ...] = ()
    factor: float = 1.0

    def quantity(self) -> Quantity:
        given = self.fields.get("given")
        values = {k: v for k, v in self.fields.items() if k != "given"}
        return Quantity(**values, given=None if given is None else given.quantity())

    def operand(self, direction: int = 1) -> Operand:
        return Operand(
            self.quantity(), tuple(lv for lv, *_ in self.levers), direction if self.levers else 1, self.factor
        )


@v_args(inline=True)
class _Build(Transformer[Token, Any]):
    """Turn the parse tree into a :class:`Query`; semantic checks raise :class:`_Fail` with a column."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def __default__(self, data: str, children: list[Any], meta: Any) -> Any:
        """A rule without a value (:data:`_CONSTANT`); any other rule keeps its tree."""
        return _CONSTANT[data] if data in _CONSTANT else super().__default__(data, children, meta)

    # numbers and durations -------------------------------------------------------------------
    def number(self, token: Token) -> tuple[float, int]:
        value = float(str(token).replace("_", ""))
        if not math.isfinite(value):
            raise _Fail(_col(token), f"the number {str(token)[:40]} is too large (at most about 1.8e308)")
        return value, _col(token)

    def duration(self, number: tuple[float, int], factor: int) -> tuple[int, int]:
        value, column = number
        months = value * factor
        if months <= 0 or (math.isfinite(months) and months != math.floor(months)):
            raise _Fail(column, f"a duration must be a positive whole number of months, got {value:g}")
        if months > MAX_MONTHS:  # infinity too (1e308 years)
            raise _Fail(column, f"a duration must be at most {MAX_MONTHS} months, got {months:g}")
        return int(months), column

    def terms(self, *ids: Token) -> dict[str, Any]:
        return {"terms": tuple((str(t)[1:-1], _col(t)) for t in ids)}

    def accepted(self, side: Token) -> dict[str, Any]:
        return {"accepted_by": (str(side), _col(side))}

    def settled_on(self, terms: Token) -> dict[str, Any]:
        return {"world": "settled", "settled_on": (str(terms)[1:-1], _col(terms))}

    # events ----------------------------------------------------------------------------------
    def settle_event(self, *args: Any) -> dict[str, Any]:
        on = args[0] if len(args) == 2 else {}
        return {"kind": "settle", "months": args[-1][0], **on}

    def removed_event(
        self, side: Token, within: tuple[int, int], world: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {"kind": "removed", "months": within[0], "side": str(side), **(world or {})}

    def holds_event(self, duration: tuple[int, int]) -> dict[str, Any]:
        return {"kind": "holds", "months": duration[0]}

    def broken_event(self, *args: Any) -> dict[str, Any]:
        side = str(args[0]) if len(args) == 2 else None
        return {"kind": "broken", "months": args[-1][0], "side": side}

    def taken_event(self, objective: Token, within: tuple[int, int]) -> dict[str, Any]:
        return {"kind": "taken", "months": within[0], "objective": (str(objective)[1:-1], _col(objective))}

    def given(self, bar: Token, event: dict[str, Any]) -> tuple[dict[str, Any], int]:
        return event, _col(bar)

    @v_args(inline=True, meta=True)
    def probability(self, meta: Any, event: dict[str, Any], given: tuple[dict[str, Any], int] | None = None) -> _Raw:
        raw = self._raw({**event, "stat": "P"}, int(meta.column))
        if given is not None:
            cond, bar = given
            for what, col in ((event, bar), (cond, bar + 1)):
                if what["kind"] not in ("settle", "removed") or what.get("world"):
                    raise _Fail(
                        col,
                        "a conditional probability relates two events of the run's own paths: a settlement or "
                        "a removal (not a ceasefire's survival, an objective or another world)",
                    )
            inner = self._raw({**cond, "stat": "P"}, bar + 1)
            raw.fields["given"] = inner
            for k, v in inner.columns.items():
                raw.columns.setdefault(k, v)
        return raw

    # statistics ------------------------------------------------------------------------------
    def quantile(self, q: tuple[float, int]) -> tuple[str, float]:
        value, column = q
        if not 0.0 < value < 1.0:
            raise _Fail(column, f"a quantile level must lie strictly between 0 and 1, got {value:g}")
        return "quantile", value

    def take_month(self, objective: Token) -> dict[str, Any]:
        return {"kind": "take_month", "objective": (str(objective)[1:-1], _col(objective))}

    def casualties(self, side: Token, scope: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "casualties", "side": str(side), **scope}

    def until_objective(self, objective: Token) -> dict[str, Any]:
        return {"scope": "until_objective", "objective": (str(objective)[1:-1], _col(objective))}

    def during_war(self, duration: tuple[int, int]) -> dict[str, Any]:
        return {"scope": "during_war", "months": duration[0]}

    @v_args(inline=True, meta=True)
    def statistic(self, meta: Any, stat: tuple[str, float], subject: dict[str, Any]) -> _Raw:
        name, q = stat
        if name == "mean" and (subject["kind"] == "take_month" or subject.get("scope") == "until_objective"):
            raise _Fail(
                int(meta.column),
                "a mean is not defined where the objective may never be taken within the horizon; "
                "use median or quantile(q)",
            )
        return self._raw({**subject, "stat": name, "q": q}, int(meta.column))

    def _raw(self, fields: dict[str, Any], column: int) -> _Raw:
        """Split the ids' columns off the fields."""
        out: dict[str, Any] = {}
        columns: dict[str, int] = {}
        for key, value in fields.items():
            if key == "terms":
                out[key] = tuple(t for t, _ in value)
                for term, col in value:
                    columns.setdefault(f"terms:{term}", col)
            elif key in ("objective", "settled_on", "accepted_by"):
                out[key] = value[0]
                columns.setdefault(
                    {"objective": "objective", "settled_on": f"terms:{value[0]}", "accepted_by": "accepted"}[key],
                    value[1],
                )
            else:
                out[key] = value
        return _Raw(out, column, columns)

    # operands and levers ---------------------------------------------------------------------
    def credibility(self, number: tuple[float, int]) -> dict[str, tuple[float, int]]:
        value, column = number
        if not 0.0 <= value <= 1.0:
            raise _Fail(column, f"a credibility is a probability in [0, 1], got {value:g}")
        return {"credibility": number}

    def lever_item(self, name: Token, *rest: Any) -> tuple[LeverSetting, int, int, int]:
        """A lever's setting and the columns of its id, intensity and credibility (its id's where not given)."""
        x, xcol = next((r for r in rest if isinstance(r, tuple)), (1.0, _col(name)))
        cred, ccol = next((r["credibility"] for r in rest if isinstance(r, dict)), (None, _col(name)))
        return LeverSetting(str(name)[1:-1], x, cred), _col(name), xcol, ccol

    def _levers(self, raw: _Raw, items: tuple[tuple[LeverSetting, int, int, int], ...]) -> None:
        """Set the levers of an operand, each named once."""
        seen: set[str] = set()
        for lever, col, _, _ in items:
            if lever.id in seen:
                raise _Fail(col, f"lever '{lever.id}' is named twice")
            seen.add(lever.id)
        raw.levers = items

    @v_args(inline=True, meta=True)
    def effect(self, meta: Any, *args: Any) -> _Raw:
        *items, raw = args
        self._levers(raw, tuple(items))
        raw.column = int(meta.column)
        return raw

    def scale(self, number: tuple[float, int]) -> tuple[float, int]:
        value, column = number
        if value <= 0:
            raise _Fail(column, f"a factor multiplies a quantity by a positive number, got {value:g}")
        return number

    # claims ----------------------------------------------------------------------------------
    def comparison(self, left: _Raw, cmp: Token, number: tuple[float, int]) -> Query:
        value, column = number
        q = left.quantity()
        if q.is_probability and not left.levers and not 0.0 <= value <= 1.0:
            raise _Fail(column, f"a probability is compared with a number in [0, 1], got {value:g}")
        if q.is_probability and left.levers and not -1.0 <= value <= 1.0:
            raise _Fail(column, f"a change of a probability lies in [-1, 1], got {value:g}")
        return self._query(left, str(cmp), value)

    def versus(self, left: _Raw, cmp: Token, *rest: Any) -> Query:
        right: _Raw = rest[-1]
        if len(rest) == 2:
            right.factor = rest[0][0]
        lq, rq = left.quantity(), right.quantity()
        if lq.unit != rq.unit:
            raise _Fail(right.column, f"{lq.unit} is compared with {rq.unit}: compare quantities that count the same")
        if bool(left.levers) != bool(right.levers):
            raise _Fail(right.column, "a lever's effect is compared with another lever's effect, not with a quantity")
        return self._query(left, str(cmp), 0.0, right)

    def range_claim(self, left: _Raw, low: tuple[float, int], high: tuple[float, int]) -> Query:
        q = left.quantity()
        if high[0] < low[0]:
            raise _Fail(high[1], f"the range's upper end {high[0]:g} is below its lower end {low[0]:g}")
        if q.is_probability and not left.levers and not (0.0 <= low[0] and high[0] <= 1.0):
            bad = low if low[0] < 0.0 else high
            raise _Fail(bad[1], f"a probability is compared with numbers in [0, 1], got {bad[0]:g}")
        return replace(self._query(left, "between", low[0]), high=high[0])

    def lever_claim(self, *args: Any) -> Query:
        *items, direction, raw, op, number = args
        value, column = number
        q = raw.quantity()
        if value < 0:
            raise _Fail(column, f"a change is stated as a non-negative amount, got {value:g}")
        if q.is_probability and value > 1.0:
            raise _Fail(column, f"a change of a probability is at most 1, got {value:g}")
        self._levers(raw, tuple(items))
        return self._query(raw, op, value, direction=1 if str(direction) == "raises" else -1)

    def _query(self, left: _Raw, op: str, value: float, right: _Raw | None = None, direction: int = 1) -> Query:
        columns: dict[str, int] = {}
        for i, raw in enumerate((left, right)):
            if raw is None:
                continue
            for k, v in raw.columns.items():
                columns.setdefault(k, v)
            for lever, col, xcol, ccol in raw.levers:
                for key, where in (("lever", col), ("intensity", xcol), ("credibility", ccol)):
                    columns[f"{i}:{key}:{lever.id}"] = where
        operand = None if right is None else right.operand()
        return Query(self.text, left.operand(direction), op, value, operand, columns=columns)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _readable(parser: Lark, name: str) -> str:
    """An expected terminal in a message: in words, as its quoted text, or by its name."""
    if name in _READABLE:
        return _READABLE[name]
    pattern = parser.get_terminal(name).pattern  # every expected name is a terminal of the grammar, or $END
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower()


def _expected(parser: Lark, names: set[str]) -> str:
    unique = sorted({_readable(parser, name) for name in names})
    if len(unique) > 8:
        unique = [*unique[:8], "..."]
    return " or ".join(unique) if len(unique) <= 2 else ", ".join(unique[:-1]) + " or " + unique[-1]


def _syntax_error(text: str, parser: Lark, e: UnexpectedCharacters | UnexpectedToken) -> QueryError:
    """The error of a query the LALR parser refuses (it raises only these two: ``UnexpectedEOF`` is Earley's)."""
    column = int(e.column or 0)
    if isinstance(e, UnexpectedToken) and e.token.type == "$END":
        expected = set(e.expected)
        return QueryError(text, len(text.rstrip()) + 1, f"the query ends early; expected {_expected(parser, expected)}")
    if isinstance(e, UnexpectedToken):
        expected = {n for n in e.expected if not n.startswith("__")} or set(e.expected)
        return QueryError(text, column, f"expected {_expected(parser, expected)}, got '{e.token}'")
    pos = int(e.pos_in_stream or 0)
    char = text[pos] if 0 <= pos < len(text) else "?"
    word = re.match(r"[^\s()\",|*]+", text[pos:])
    got = word.group(0) if word else char
    allowed = {n for n in (e.allowed or ()) if not n.startswith("__")}
    hint = " (ids are written in double quotes)" if "STRING" in allowed else ""
    if allowed and (char.isalnum() or char in "\"'_=<>(),.|*"):
        return QueryError(text, column, f"expected {_expected(parser, allowed)}, got '{got}'{hint}")
    return QueryError(text, column, f"unexpected character '{char}'")


@lru_cache(maxsize=512)
def parse_query(text: str) -> Query:
    """Parse a claim's query.

    Raises
    ------
    QueryError
        With the 1-based column of the first problem, for a syntax error or a value that makes
        no sense (a probability above 1, a quantile level outside (0, 1), a duration of 0, two
        quantities that count different things compared...).
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(text, MAX_QUERY_LENGTH + 1, f"a query is at most {MAX_QUERY_LENGTH:,} characters long")
    if "\n" in text.strip():
        raise QueryError(text, 1, "a query is one line")
    text = text.strip()
    if not text:
        raise QueryError(text, 1, "the query is empty")
    parser = _parser()
    try:
        tree = parser.parse(text)
    except (UnexpectedCharacters, UnexpectedToken) as e:
        raise _syntax_error(text, parser, e) from None
    try:
        query: Query = _Build(text).transform(tree)  # every claim rule builds a Query
    except VisitError as e:
        inner = e.orig_exc
        if isinstance(inner, _Fail):
            raise QueryError(text, inner.column, inner.message) from None
        raise
    return query
