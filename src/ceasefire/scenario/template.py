"""A new scenario to start from: the commented template that ``ceasefire new NAME`` writes.

The template (``templates/new.toml``) is the smallest complete scenario: two sides with their
leaders, one objective, two terms, one lever and one claim, every number with a source and a
comment on what it means. It validates and runs as written (the tests check both).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from string import Template

from ceasefire.scenario.schema import SLUG

TEMPLATE = Path(__file__).parent / "templates" / "new.toml"
"""The template's file; ``${id}``, ``${title}``, ``${file}``, ``${start}`` and ``${year}`` are filled in."""


def scenario_file(name: str) -> Path:
    """The file ``ceasefire new NAME`` writes: ``NAME`` with ``.toml`` added unless it is there."""
    path = Path(name)
    return path if path.suffix == ".toml" else path.with_name(path.name + ".toml")


def template_text(name: str, start: dt.date | None = None) -> str:
    """The template for scenario ``name`` (a file name or path; its stem becomes the scenario's id).

    ``start`` (default: the first day of the current month) is the scenario's month 0. A ``ValueError``
    says what a valid name is when the stem is not a scenario id (lowercase letters, digits, ``-``, ``_``).
    """
    file = scenario_file(name)
    ident = file.stem
    if not re.match(SLUG, ident):
        raise ValueError(
            f"{ident!r} cannot be a scenario id: expected 1 to 64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit (e.g. my-war-2026)"
        )
    first = (start or dt.date.today()).replace(day=1)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        id=ident,
        title=ident.replace("-", " ").replace("_", " ").capitalize(),
        file=file.name,
        start=first.isoformat(),
        year=str(first.year),
    )
