"""Bounds on what a scenario file may hold, each with the reason a user is told.

Two kinds of bound live here:

* **Shape bounds**, checked on the raw TOML data before any validation (:func:`scan`): how deep
  tables and lists nest (:data:`MAX_DEPTH`), how large a whole number may be (64 bits), and that
  every float is finite and at most :data:`MAX_MAGNITUDE` in size. The scan is iterative, so no
  file the TOML parser accepts can exhaust Python's recursion limit afterwards.
* **Parameter bounds** (:class:`Bound`), attached to the schema's parameter types
  (:mod:`ceasefire.scenario.schema`): the range within which the model's dynamics stay inside
  64-bit floats over the longest horizon (600 months). Each is derived from the formula the
  parameter enters; the derivation is the bound's ``reason`` and is part of the error message.

The numbers that decide them: float64 overflows above ``1.8e308`` (``exp(709.78)``, ``2^1024``);
a run lasts at most 600 months.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 16
"""Deepest nesting of tables and lists in a scenario file. The format itself nests at most 5 deep
(``leaders.A.reasons.legitimacy.low``); deeper data is refused before validation walks it."""

MAX_MAGNITUDE = 1e15
"""Largest magnitude of any number in a scenario file (whole numbers of the ``[run]`` table aside).
The model multiplies a handful of its numbers together and adds up to 600 months of the products:
at 1e15 twenty such factors still stay below float64's 1.8e308, and a sum of 600 months keeps
unit precision's neighbourhood (float64 counts whole units exactly to 9e15)."""

MAX_INT = 2**63 - 1
"""Largest whole number a scenario file may hold anywhere (a 64-bit integer, as seeds are)."""


@dataclass(frozen=True)
class Bound:
    """A finite range a parameter must be sampled in, and why (shown in the error message)."""

    low: float
    high: float
    reason: str


MAGNITUDE = Bound(
    -MAX_MAGNITUDE,
    MAX_MAGNITUDE,
    "the model multiplies a few of its numbers and adds up to 600 months of them; beyond 1e15 in size "
    "such products leave 64-bit floats",
)
"""Every parameter: at most :data:`MAX_MAGNITUDE` in size."""

EXPONENT = Bound(
    0.0,
    10.0,
    "a ratio x raised to this exponent q overflows 64-bit floats once x > 2^(1024/q): at q = 10 only "
    "beyond x = 5e30, at q = 1000 already at x = 2.03, a power ratio a few months of war reach",
)
"""Exponents on power ratios (``(M/M0)^a``, ``(K/K0)^b``, ``P^q``, ``rho^theta``)."""

LOG_BIAS = Bound(
    -10.0,
    10.0,
    "a log-bias multiplies by exp(bias): exp(10) = 22,026 already, and a power so biased is raised to an "
    "exponent of up to 10 (exp(100)); exp(x) overflows at x = 709.78",
)
"""Beliefs entered as ``exp(bias)``: a leader's optimism about his power, his doubt of the other's resolve."""

LOG_HAZARD = Bound(
    0.0,
    20.0,
    "a leader's hazard is base * exp(log-hazard terms); with every term at 20 per unit of its driver "
    "(casualty ratio, pain, lost stability) the drivers' ordinary ranges keep exp() below its overflow at 709.78",
)
"""Coefficients in a leader's log-hazard and the war's legitimacy term (``exp(b_c (c/c0 - 1) + b_e pain + ...)``)."""

PAIN_WEIGHT = Bound(
    0.0,
    20.0,
    "economic pain counts unfunded spending this many times over (pain <= 1 + weight), and pain enters the "
    "hazard as exp(pain_hazard * pain): 20 * 21 = 420 stays below exp()'s overflow at 709.78",
)
"""The weight of unfunded spending in economic pain."""

EXCHANGE_RATIO = Bound(
    1e-6,
    1e6,
    "B's casualties are A's divided by this ratio: at 5e-324 they are infinite; a million to one either way "
    "keeps 600 months of them finite",
)

MANPOWER = Bound(
    1.0,
    MAX_MAGNITUDE,
    "combat power divides the force by its start, and the dynamics never let a force fall below 1 person: a start "
    "below 1 person makes that ratio jump (5e-324 makes it infinite)",
)

EQUIPMENT = Bound(
    1e-6,
    MAX_MAGNITUDE,
    "combat power divides the stock by its start (an index, 1 = the start's stock) and adds a month's production, "
    "restoration and aid to it: at 5e-324 any addition makes the ratio infinite",
)

CASUALTY_RATE = Bound(
    1e-6,
    MAX_MAGNITUDE,
    "a leader's hazard divides a month's casualties by the start's rate (and B's rate is A's divided by an exchange "
    "ratio of up to 1e6): below 1e-6 a day the divisor nears float64's smallest numbers and 0/0 gives NaN",
)

LEVEL = Bound(
    0.0,
    1e6,
    "a multiple of the start's level (1 = the start's): it multiplies per-month deliveries of up to 1e15, and a "
    "million times the start's level keeps 600 months of their product finite",
)
"""Relative levels that multiply other per-month figures (``aid_level``)."""

VOLATILITY = Bound(
    0.0,
    1.0,
    "the log price moves by volatility * z a month; without reversion 600 months carry it to 6 * sqrt(600) * "
    "volatility = 147 * volatility at 6 sd, and exp() of it overflows beyond a volatility of 4.8",
)
"""Monthly standard deviation of the log commodity price."""

RECORD_FACTOR = Bound(
    0.0,
    1000.0,
    "the breakdown probability is multiplied by record_factor^prior_broken: 1000^100 = 1e300 is the largest "
    "that stays finite",
)
MAX_PRIOR_BROKEN = 100
"""Agreements broken before the start, at most (see :data:`RECORD_FACTOR`)."""

_PEACE_SERIES = (
    "the value of peace sums a series in A = (the five transition shocks' total) x shock_months, exact up to "
    "A = 300 and overflowing 64-bit floats near A = 715: five shocks of at most 0.4 a month decaying over at most "
    "120 months give A <= 241"
)
SHOCK_MONTHS = Bound(5e-324, 120.0, _PEACE_SERIES)
"""Decay time of the transition shock after a settlement, months."""
SHOCK_RATE = Bound(0.0, 0.4, _PEACE_SERIES)
"""Each transition-shock reason: a monthly hazard added after a settlement (0.4 a month is 33% a month)."""

MONTHLY_GROWTH_MAX = 10.0
GROWTH_REASON = (
    "combat power is the force (or stock) relative to its start raised to an exponent, and losses and leaders' "
    "hazards grow with it (exponentially for the hazards): a month adding more than 10 times the start "
    "(1e15 recruits a month, or production a million times the stock) overflows 64-bit floats within 60 months"
)
"""A month's additions to a force (recruits) or a stock (production, restoration, aid deliveries at the aid
level), at most this many times its start."""

LEVER_INTENSITY = Bound(
    0.0,
    1e6,
    "a lever's change is per_unit * intensity and its cost cost_per_unit * intensity: up to a million units, "
    "with per-unit figures of up to 1e15, they stay finite (and per_unit * intensity_max must itself stay "
    "within 1e15, the size of any number of the model)",
)


# -- the raw data scan ---------------------------------------------------------------------------

Key = str | int


@dataclass(frozen=True)
class RawProblem:
    """A problem found in the raw data: its path (for the line), its dotted key and what was expected."""

    path: tuple[Key, ...]
    shown: str
    expected: str


def entry_name(entry: Any, index: int) -> str:
    """The name a list entry is shown by in a dotted key: its ``id``, else its index."""
    ident = entry.get("id") if isinstance(entry, dict) else None
    return ident if isinstance(ident, str) and ident else str(index)


def scan(data: Any) -> Iterator[RawProblem]:
    """Every shape problem of raw TOML data, depth first in file order, without recursion.

    Nesting deeper than :data:`MAX_DEPTH` is reported once per branch and not descended into;
    floats must be finite and at most :data:`MAX_MAGNITUDE` in size; whole numbers must fit in
    64 bits.
    """
    stack: list[tuple[Any, tuple[Key, ...], str]] = [(data, (), "")]
    while stack:
        value, path, shown = stack.pop()
        expected = ""
        if isinstance(value, float) and not math.isfinite(value):
            expected = f"expected a finite number, got the number {value!r}"
        elif isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
            expected = f"expected a number of size at most {MAX_MAGNITUDE:g}, got {value:g}: {MAGNITUDE.reason}"
        elif isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT - 1 <= value <= MAX_INT:
            digits = len(str(abs(value)))
            expected = f"a whole number of {digits} digits; whole numbers must fit in 64 bits (at most {MAX_INT:,})"
        elif isinstance(value, dict | list) and value and len(path) >= MAX_DEPTH:
            expected = (
                f"tables and lists nest more than {MAX_DEPTH} deep here; a scenario nests at most 5 deep "
                f"(e.g. leaders.A.reasons.legitimacy.low), and at most {MAX_DEPTH} is accepted"
            )
        elif isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = []
            for k, v in items:
                name = str(k) if isinstance(value, dict) else entry_name(v, k)
                children.append((v, (*path, k), f"{shown}.{name}" if shown else name))
            stack.extend(reversed(children))
        if expected:
            yield RawProblem(path, shown, expected)


_KEY_PART = r"""\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')\s*"""
_DOTTED = re.compile(rf"^(?:{_KEY_PART}\.)+{_KEY_PART}$")
_KEY_START = re.compile(r"[\[{,]+")


def deep_key(text: str) -> tuple[int, int, str] | None:
    """``(line, parts, key)`` of the first dotted key or table header with more than :data:`MAX_DEPTH` parts.

    Checked on the text before it is parsed: Python's TOML parser takes time quadratic in a key's
    parts (16,000 parts: 2 s; the 1 million a 2 MiB file holds: hours). A candidate is what stands
    before an ``=`` or inside a header's brackets, after the last ``[``, ``{`` or ``,``; it counts only
    if it is a well-formed dotted key, so a string that merely holds many dots is never refused.
    """
    for n, line in enumerate(text.splitlines(), 1):
        if line.count(".") <= MAX_DEPTH:  # cheap: fewer dots cannot make a deeper key
            continue
        stripped = line.strip()
        pieces = [stripped.strip("[]")] if stripped.startswith("[") else line.split("=")[:-1]
        for piece in pieces:
            candidate = _KEY_START.split(piece)[-1]
            if candidate.count(".") >= MAX_DEPTH and _DOTTED.match(candidate):
                key = re.sub(r"\s+", "", candidate)
                return n, candidate.count(".") + 1, key if len(key) <= 60 else key[:59] + "…"
    return None
