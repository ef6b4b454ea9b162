"""Do the sources' figures agree? Numbers implied by some figures, against the figures stated.

A scenario's ``[[figures]]`` record what its sources say (value, unit, date, the quote); its
``[[consistency]]`` checks say which figures should agree (see ``docs/explain-and-claims.md``):

- ``implied_rate``: one total over its period (``since`` .. ``date``) divided by the days of the
  period, or the change between two totals divided by the days between their dates;
- ``implied_total``: a rate per day times the days of its period;
- ``share_of_whole``: a share (in percent) of a whole.

The implied number (times ``scale``, a unit conversion) is compared with the range the ``against``
figures state: a figure said to be "about" ``x`` states ``[low, high]`` (``x`` itself without a
range), "at least" ``x`` states ``[x, inf)``, "at most" ``x`` states ``(-inf, x]``; several
figures state together the range from their lowest finite lower bound to their highest finite
upper bound ("over 850 a day" and "as many as 1,000 a day" state 850–1,000). The check passes
when the implied number lies in that range widened by the relative ``tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ceasefire.scenario.schema import Consistency, Figure, Scenario

__all__ = ["ConsistencyResult", "check_consistency", "stated_range"]


@dataclass(frozen=True)
class ConsistencyResult:
    """One check: the number implied, the range stated, and whether they agree."""

    id: str
    name: str
    check: str
    implied: float
    unit: str
    stated_low: float | None  # None: no lower bound
    stated_high: float | None  # None: no upper bound
    tolerance: float
    consistent: bool
    ratio: float | None  # implied / the nearest stated bound, when it lies outside
    explanation: str
    figures: tuple[dict[str, Any], ...]
    against: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stated_range(figure: Figure) -> tuple[float, float]:
    """The range a figure states, from its value, range and qualifier."""
    low = figure.value if figure.low is None else figure.low
    high = figure.value if figure.high is None else figure.high
    if figure.qualifier == "at least":
        return low, math.inf
    if figure.qualifier == "at most":
        return -math.inf, high
    return low, high


def _hull(ranges: list[tuple[float, float]]) -> tuple[float, float]:
    """The range several figures state together: from the lowest finite lower bound to the highest
    finite upper bound (a figure open on one side, "over 850", bounds only the other side)."""
    lows = [r[0] for r in ranges if math.isfinite(r[0])]
    highs = [r[1] for r in ranges if math.isfinite(r[1])]
    return (min(lows) if lows else -math.inf), (max(highs) if highs else math.inf)


def _stated(low: float, high: float) -> str:
    if math.isfinite(low) and math.isfinite(high):
        return _fmt(low) if low == high else f"{_fmt(low)}–{_fmt(high)}"
    return f"at least {_fmt(low)}" if math.isfinite(low) else f"at most {_fmt(high)}"


def _describe(f: Figure) -> dict[str, Any]:
    """The figure as stated (its dates as ISO strings), without its note."""
    return f.model_dump(mode="json", exclude={"note"})


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _implied(c: Consistency, given: list[Figure]) -> tuple[float, str]:
    """The number implied and how it was computed."""
    if c.check in ("implied_rate", "implied_total") and len(given) == 1:  # a total per day, or a rate times days
        f = given[0]
        assert f.since is not None  # checked at load time
        days = (f.date - f.since).days
        value, how = (f.value / days, "over") if c.check == "implied_rate" else (f.value * days, "times")
        return value * c.scale, f"{_fmt(f.value)} {f.unit} {how} the {days} days {f.since} to {f.date}"
    if c.check == "implied_rate":
        a, b = given
        days = (b.date - a.date).days
        change = b.value - a.value
        text = f"{_fmt(b.value)} - {_fmt(a.value)} = {_fmt(change)} {b.unit} over the {days} days {a.date} to {b.date}"
        return change / days * c.scale, text
    share, whole = given
    return share.value / 100.0 * whole.value * c.scale, f"{share.value:g}% of {_fmt(whole.value)} {whole.unit}"


def check_consistency(scenario: Scenario) -> list[ConsistencyResult]:
    """Every ``[[consistency]]`` check of the scenario, in file order."""
    figures = {f.id: f for f in scenario.figures}
    out = []
    for c in scenario.consistency:
        given = [figures[i] for i in c.figures]
        against = [figures[i] for i in c.against]
        implied, how = _implied(c, given)
        if c.scale != 1.0:
            how += f", times {c.scale:g}"
        low, high = _hull([stated_range(f) for f in against])
        lo_ok = implied >= low * (1.0 - c.tolerance) if low >= 0 else implied >= low * (1.0 + c.tolerance)
        hi_ok = implied <= high * (1.0 + c.tolerance) if high >= 0 else implied <= high * (1.0 - c.tolerance)
        consistent = bool(lo_ok and hi_ok)
        ratio = None
        if not lo_ok and low != 0:
            ratio = implied / low
        elif not hi_ok and high != 0:
            ratio = implied / high
        unit = against[0].unit
        stated = _stated(low, high)
        verdict = "agrees with" if consistent else "contradicts"
        times = f" ({ratio:.2f} times the stated bound)" if ratio is not None else ""
        explanation = (
            f"implied {_fmt(implied)} {unit} ({how}) {verdict} the {stated} {unit} stated "
            f"(tolerance {c.tolerance:.0%}){times}"
        )
        out.append(
            ConsistencyResult(
                id=c.id,
                name=c.name,
                check=c.check,
                implied=implied,
                unit=unit,
                stated_low=low if math.isfinite(low) else None,
                stated_high=high if math.isfinite(high) else None,
                tolerance=c.tolerance,
                consistent=consistent,
                ratio=ratio,
                explanation=explanation,
                figures=tuple(_describe(f) for f in given),
                against=tuple(_describe(f) for f in against),
            )
        )
    return out
