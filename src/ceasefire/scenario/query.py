"""The claims query language: a checkable statement about a scenario's outputs.

A claim's ``query`` is parsed with a real grammar (:data:`GRAMMAR`, an LALR parser built by
``lark``); nothing is ever evaluated as Python. Two forms::

    QUANTITY  CMP  NUMBER
    lever "ID" [at X] [and "ID" [at X] ...]  raises|lowers  QUANTITY  by at least|at most  NUMBER

``CMP`` is one of ``<  <=  >  >=``. Quantities:

=============================================================  =====================================
``P(settlement within 12 months)``                              first settlement in months 0 .. 11
``P(settlement on "freeze", "freeze-guarantees" within 2 years)``  ... on one of these terms
``P(leader A removed within 24 months)``                        the incumbent of side A loses office
``P(ceasefire holds 2 years)``                                  a first ceasefire still holds after 24 months
``P(objective "rest-of-donetsk" taken within 12 months)``       in the war fought on without a deal
``median settlement month``                                     (also ``mean``, ``quantile(0.9)``)
``median casualties of A until settlement``                     to the first settlement (or the horizon)
``mean casualties of B over horizon``                           over the whole horizon
``median casualties of A during 12 months of war``              in the war fought on, first 12 months
``median casualties of A until objective "rest-of-donetsk" taken``  in the war fought on
``median months to take objective "rest-of-donetsk"``           in the war fought on
=============================================================  =====================================

Durations are ``N months`` or ``N years`` (whole months in the end). A value that is never
reached within the horizon (no settlement, objective never taken) counts as larger than any
number, so medians and quantiles stay defined; a ``mean`` over such values is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

__all__ = ["GRAMMAR", "MAX_QUERY_LENGTH", "Quantity", "Query", "QueryError", "excerpt", "parse_query"]

MAX_QUERY_LENGTH = 1_000
"""Longest query, in characters (the longest of the flagship's is under 150)."""

GRAMMAR = r"""
?start: claim
?claim: comparison | lever_claim

comparison: quantity CMP number
lever_claim: _LEVER lever_item (_AND lever_item)* DIRECTION quantity _BY bound number
lever_item: STRING (_AT number)?
bound: _AT _LEAST   -> at_least
     | _AT _MOST    -> at_most
DIRECTION: "raises" | "lowers"

?quantity: probability | statistic
probability: "P" "(" event ")"
?event: "settlement" terms? within                  -> settle_event
      | "leader" SIDE "removed" within              -> removed_event
      | "ceasefire" "holds" duration                -> holds_event
      | "objective" STRING "taken" within           -> taken_event
terms: "on" STRING ("," STRING)*
within: "within" duration
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
NUMBER: /[0-9][0-9_]*(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /"[^"\n]*"/
_LEVER: "levers" | "lever"
_AND: "and"
_AT: "at"
_BY: "by"
_LEAST: "least"
_MOST: "most"

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
    if len(text) <= width:
        return text, " " * (column - 1) + "^"
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    end = start + width
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end] + tail, " " * (len(head) + column - 1 - start) + "^"


@dataclass(frozen=True)
class Quantity:
    """One model output a claim is about.

    ``kind`` is one of ``settle``, ``removed``, ``holds``, ``taken`` (probabilities, ``stat = "P"``),
    ``settle_month``, ``casualties``, ``take_month`` (statistics: ``median``, ``mean`` or ``quantile``
    with level ``q``). ``months`` is the duration in months; ``scope`` of casualties is one of
    ``until_settlement``, ``over_horizon``, ``until_objective``, ``during_war``.
    """

    kind: str
    stat: str = "P"
    q: float = 0.5
    months: int | None = None
    terms: tuple[str, ...] = ()
    side: str | None = None
    scope: str | None = None
    objective: str | None = None

    @property
    def is_probability(self) -> bool:
        return self.stat == "P"

    @property
    def needs_war_course(self) -> bool:
        """Computed on the war fought on without a deal (objectives, ``during N months of war``)."""
        return self.kind in ("taken", "take_month") or self.scope in ("until_objective", "during_war")

    def describe(self) -> str:
        """The quantity in words, for tables."""
        span = f"{self.months} months" if self.months is not None else ""
        if self.kind == "settle":
            on = f" on {' or '.join(self.terms)}" if self.terms else ""
            return f"P(settlement{on} within {span})"
        if self.kind == "removed":
            return f"P(leader {self.side} removed within {span})"
        if self.kind == "holds":
            return f"P(ceasefire holds {span})"
        if self.kind == "taken":
            return f"P({self.objective} taken within {span}, war fought on)"
        stat = f"quantile({self.q:g})" if self.stat == "quantile" else self.stat
        if self.kind == "settle_month":
            return f"{stat} settlement month"
        if self.kind == "take_month":
            return f"{stat} months to take {self.objective} (war fought on)"
        scope = {
            "until_settlement": "until settlement",
            "over_horizon": "over the horizon",
            "until_objective": f"until {self.objective} is taken (war fought on)",
            "during_war": f"during {span} of war",
        }[str(self.scope)]
        return f"{stat} casualties of {self.side} {scope}"


@dataclass(frozen=True)
class Query:
    """A parsed claim: ``quantity op threshold``, or a lever's effect on the quantity.

    For a lever claim ``levers`` holds ``(lever id, intensity)`` pairs, ``direction`` is ``+1``
    (raises) or ``-1`` (lowers), the compared quantity is the change in that direction (with the
    levers minus without, times ``direction``), ``op`` is ``>=`` (at least) or ``<=`` (at most).
    """

    text: str
    quantity: Quantity
    op: str
    threshold: float
    levers: tuple[tuple[str, float], ...] = ()
    direction: int = 0
    columns: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_lever(self) -> bool:
        return bool(self.levers)

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the comparison."""
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
        }[self.op]

    def rule(self) -> str:
        """The comparison in words, e.g. ``estimate < 0.2``."""
        what = "change" if self.is_lever else "estimate"
        return f"{what} {self.op} {self.threshold:g}"


class _Fail(Exception):
    def __init__(self, column: int, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _number(token: Token) -> float:
    return float(str(token).replace("_", ""))


@v_args(inline=True)
class _Build(Transformer[Token, Any]):
    """Turn the parse tree into a :class:`Query`; semantic checks raise :class:`_Fail` with a column."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    # numbers and durations -------------------------------------------------------------------
    def number(self, token: Token) -> tuple[float, int]:
        value = _number(token)
        if not math.isfinite(value):
            raise _Fail(int(token.column or 1), f"the number {str(token)[:40]} is too large (at most about 1.8e308)")
        return value, int(token.column or 1)

    def months(self) -> int:
        return 1

    def years(self) -> int:
        return 12

    def duration(self, number: tuple[float, int], factor: int) -> tuple[int, int]:
        value, column = number
        months = value * factor
        if months <= 0 or (math.isfinite(months) and months != math.floor(months)):
            raise _Fail(column, f"a duration must be a positive whole number of months, got {value:g}")
        if months > MAX_MONTHS:  # infinity too (1e308 years)
            raise _Fail(column, f"a duration must be at most {MAX_MONTHS} months, got {months:g}")
        return int(months), column

    def within(self, duration: tuple[int, int]) -> tuple[int, int]:
        return duration

    def terms(self, *ids: Token) -> tuple[tuple[str, int], ...]:
        return tuple((str(t)[1:-1], int(t.column or 1)) for t in ids)

    # events ----------------------------------------------------------------------------------
    def settle_event(self, *args: Any) -> dict[str, Any]:
        terms = args[0] if len(args) == 2 else ()
        within = args[-1]
        return {"kind": "settle", "months": within[0], "terms": terms}

    def removed_event(self, side: Token, within: tuple[int, int]) -> dict[str, Any]:
        return {"kind": "removed", "months": within[0], "side": str(side)}

    def holds_event(self, duration: tuple[int, int]) -> dict[str, Any]:
        return {"kind": "holds", "months": duration[0]}

    def taken_event(self, objective: Token, within: tuple[int, int]) -> dict[str, Any]:
        return {"kind": "taken", "months": within[0], "objective": (str(objective)[1:-1], objective.column)}

    def probability(self, event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "stat": "P"}

    # statistics ------------------------------------------------------------------------------
    def median(self) -> tuple[str, float]:
        return "median", 0.5

    def mean(self) -> tuple[str, float]:
        return "mean", math.nan

    def quantile(self, q: tuple[float, int]) -> tuple[str, float]:
        value, column = q
        if not 0.0 < value < 1.0:
            raise _Fail(column, f"a quantile level must lie strictly between 0 and 1, got {value:g}")
        return "quantile", value

    def settle_month(self) -> dict[str, Any]:
        return {"kind": "settle_month"}

    def take_month(self, objective: Token) -> dict[str, Any]:
        return {"kind": "take_month", "objective": (str(objective)[1:-1], objective.column)}

    def casualties(self, side: Token, scope: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "casualties", "side": str(side), **scope}

    def until_settlement(self) -> dict[str, Any]:
        return {"scope": "until_settlement"}

    def over_horizon(self) -> dict[str, Any]:
        return {"scope": "over_horizon"}

    def until_objective(self, objective: Token) -> dict[str, Any]:
        return {"scope": "until_objective", "objective": (str(objective)[1:-1], objective.column)}

    def during_war(self, duration: tuple[int, int]) -> dict[str, Any]:
        return {"scope": "during_war", "months": duration[0]}

    @v_args(inline=True, meta=True)
    def statistic(self, meta: Any, stat: tuple[str, float], subject: dict[str, Any]) -> dict[str, Any]:
        name, q = stat
        if name == "mean" and (subject["kind"] == "take_month" or subject.get("scope") == "until_objective"):
            raise _Fail(
                int(meta.column),
                "a mean is not defined where the objective may never be taken within the horizon; "
                "use median or quantile(q)",
            )
        return {**subject, "stat": name, "q": q}

    # claims ----------------------------------------------------------------------------------
    def comparison(self, quantity: dict[str, Any], cmp: Token, number: tuple[float, int]) -> Query:
        value, column = number
        q = _quantity(quantity)
        if q.is_probability and not 0.0 <= value <= 1.0:
            raise _Fail(column, f"a probability is compared with a number in [0, 1], got {value:g}")
        return self._query(q, str(cmp), value, quantity)

    def lever_item(self, name: Token, intensity: tuple[float, int] | None = None) -> tuple[str, float, int, int]:
        x = 1.0 if intensity is None else intensity[0]
        return str(name)[1:-1], x, int(name.column or 1), (intensity[1] if intensity else int(name.column or 1))

    def at_least(self) -> str:
        return ">="

    def at_most(self) -> str:
        return "<="

    def lever_claim(self, *args: Any) -> Query:
        *items, direction, quantity, op, number = args
        value, column = number
        q = _quantity(quantity)
        if value < 0:
            raise _Fail(column, f"a change is stated as a non-negative amount, got {value:g}")
        if q.is_probability and value > 1.0:
            raise _Fail(column, f"a change of a probability is at most 1, got {value:g}")
        seen: set[str] = set()
        for lever, _, col, _ in items:
            if lever in seen:
                raise _Fail(col, f"lever '{lever}' is named twice")
            seen.add(lever)
        query = self._query(q, op, value, quantity)
        columns = dict(query.columns)
        for lever, _, col, xcol in items:
            columns[f"lever:{lever}"] = col
            columns[f"intensity:{lever}"] = xcol
        return Query(
            text=self.text,
            quantity=q,
            op=op,
            threshold=value,
            levers=tuple((lever, x) for lever, x, _, _ in items),
            direction=1 if str(direction) == "raises" else -1,
            columns=columns,
        )

    def _query(self, q: Quantity, op: str, value: float, raw: dict[str, Any]) -> Query:
        columns: dict[str, int] = {}
        if "objective" in raw:
            columns["objective"] = int(raw["objective"][1])
        for term, col in raw.get("terms", ()):
            columns.setdefault(f"terms:{term}", col)
        return Query(text=self.text, quantity=q, op=op, threshold=value, columns=columns)


def _quantity(raw: dict[str, Any]) -> Quantity:
    objective = raw.get("objective")
    return Quantity(
        kind=raw["kind"],
        stat=raw.get("stat", "P"),
        q=raw.get("q", 0.5),
        months=raw.get("months"),
        terms=tuple(t for t, _ in raw.get("terms", ())),
        side=raw.get("side"),
        scope=raw.get("scope"),
        objective=None if objective is None else objective[0],
    )


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _expected(parser: Lark, names: set[str]) -> str:
    shown = []
    for name in sorted(names):
        if name in _READABLE:
            shown.append(_READABLE[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            shown.append(name.lower())
            continue
        shown.append(f"'{pattern.value}'" if pattern.type == "str" else name.lower())
    unique = sorted(set(shown))
    if len(unique) > 8:
        unique = [*unique[:8], "..."]
    return " or ".join(unique) if len(unique) <= 2 else ", ".join(unique[:-1]) + " or " + unique[-1]


def _syntax_error(text: str, parser: Lark, e: UnexpectedInput) -> QueryError:
    column = int(getattr(e, "column", 0) or 0)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        expected = set(getattr(e, "expected", ()) or ())
        return QueryError(text, len(text.rstrip()) + 1, f"the query ends early; expected {_expected(parser, expected)}")
    if isinstance(e, UnexpectedToken):
        expected = {n for n in e.expected if not n.startswith("__")} or set(e.expected)
        got = str(e.token)
        return QueryError(text, column, f"expected {_expected(parser, expected)}, got '{got}'")
    if isinstance(e, UnexpectedCharacters):
        pos = int(e.pos_in_stream or 0)
        char = text[pos] if 0 <= pos < len(text) else "?"
        word = re.match(r"[^\s()\",]+", text[pos:])
        got = word.group(0) if word else char
        allowed = {n for n in (e.allowed or ()) if not n.startswith("__")}
        hint = " (ids are written in double quotes)" if "STRING" in allowed else ""
        if allowed and (char.isalnum() or char in "\"'_=<>(),."):
            return QueryError(text, column, f"expected {_expected(parser, allowed)}, got '{got}'{hint}")
        return QueryError(text, column, f"unexpected character '{char}'")
    return QueryError(text, max(column, 1), str(e).splitlines()[0])


@lru_cache(maxsize=512)
def parse_query(text: str) -> Query:
    """Parse a claim's query.

    Raises
    ------
    QueryError
        With the 1-based column of the first problem, for a syntax error or a value that makes
        no sense (a probability above 1, a quantile level outside (0, 1), a duration of 0...).
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
    except UnexpectedInput as e:
        raise _syntax_error(text, parser, e) from None
    try:
        query = _Build(text).transform(tree)
    except VisitError as e:
        inner = e.orig_exc
        if isinstance(inner, _Fail):
            raise QueryError(text, inner.column, inner.message) from None
        raise
    if not isinstance(query, Query):  # pragma: no cover - the grammar's start rule is a claim
        raise QueryError(text, 1, "not a claim")
    return query
