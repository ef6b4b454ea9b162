"""Readable labels for a scenario's dotted parameter paths, for tables and figures.

``leaders.A.resolve_doubt`` reads "Vladimir Putin: resolve doubt"; the field's description in the
schema (its meaning and unit) goes with it as :func:`parameter_description`. Labels name the
side, leader, lever or objective by the name the scenario gives it, so they follow the scenario.
"""

from __future__ import annotations

import re

from ceasefire.scenario.schema import Scenario, field_at

__all__ = ["parameter_description", "parameter_label"]

_WORDS = {
    "km2": "km²",
    "sd": "s.d.",
    "per_unit": "effect per unit of intensity",
    "cost_per_unit": "cost per unit of intensity",
}


def _words(name: str) -> str:
    """``gain_km2_per_month`` -> ``gain km² per month``."""
    return _WORDS.get(name) or " ".join(_WORDS.get(w, w) for w in name.split("_"))


def _owner(scenario: Scenario, parts: list[str]) -> tuple[str, list[str]]:
    """Who the parameter belongs to, by the scenario's names, and the remaining path parts."""
    head = parts[0]
    if head == "leaders" and len(parts) > 2 and parts[1] in scenario.leaders:
        return scenario.leaders[parts[1]].name, parts[2:]  # type: ignore[index]
    if head == "sides" and len(parts) > 3 and parts[1] in scenario.sides:
        side = scenario.sides[parts[1]].name  # type: ignore[index]
        return f"{side}, {parts[2]}", parts[3:]
    if head in ("levers", "objectives") and len(parts) > 2:
        names = {entry.id: entry.name for entry in getattr(scenario, head)}
        return names.get(parts[1], parts[1]), parts[2:]
    return _words(head), parts[1:]


def parameter_label(scenario: Scenario, path: str) -> str:
    """A short readable label: the owner by its scenario name, then the field in words.

    Aron's numbered reasons keep their number: ``leaders.A.reasons.legitimacy`` reads
    "Vladimir Putin: legitimacy (reason 1)". A path the scenario does not name is put in words as it is.
    """
    parts = path.split(".")
    owner, rest = _owner(scenario, parts)
    if not rest:
        return path
    field = " ".join(_words(p) for p in rest if p not in ("reasons",))
    description = parameter_description(scenario, path) or ""
    number = re.match(r"^(\d+): ", description)
    if parts[-2:-1] == ["reasons"] and number:
        field += f" (reason {number.group(1)})"
    return f"{owner}: {field}"


def parameter_description(scenario: Scenario, path: str) -> str | None:
    """The schema's description of the field at ``path`` (meaning and unit), ``None`` if it has none."""
    info = field_at(scenario, path)
    return None if info is None else info.description
