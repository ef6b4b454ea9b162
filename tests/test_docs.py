"""The README and docs describe the present: short, no clock times, links that resolve, code that runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from ceasefire.scenario import schema

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CLOCK = re.compile(r"(?<![\d.:])(?:[01]?\d|2[0-3]):[0-5]\d(?![\d:])")
"""A time of day such as 12:37 or 05:31 UTC (not a ratio like 1:2.5 nor a port like :8050)."""


def _blocks(text: str, language: str = "") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_the_clock_pattern() -> None:
    assert CLOCK.findall("at 12:37 UTC, then 5:31 and 23:59") == ["12:37", "5:31", "23:59"]
    assert CLOCK.findall("http://127.0.0.1:8050/ 1:2.5 24:00 3.5:10 10^6") == []


def test_readme_is_short_and_opens_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    quick = text.index("## Quick start")
    assert quick < text.index("## What it answers")
    first = _blocks(text[quick:])[0]
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


@pytest.mark.parametrize("path", [README, ROOT / "CHANGELOG.md", *DOCS], ids=lambda p: p.name)
def test_no_clock_times(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [f"{path.name}:{i}: {line.strip()[:80]}" for i, line in enumerate(lines, 1) if CLOCK.search(line)]
    assert found == []


@pytest.mark.parametrize("path", [README, ROOT / "CHANGELOG.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [t for t in targets if "://" not in t and not (path.parent / t).exists()]
    assert missing == []


def test_the_readme_python_example_runs() -> None:
    code = _blocks(README.read_text(encoding="utf-8"), "python")
    assert code, "the README has a Python example"
    namespace: dict[str, object] = {}
    exec(compile(code[0], "README.md", "exec"), namespace)  # small sizes: a few seconds
    paths = namespace["paths"]
    assert len(paths) == 20 * 50 and (paths["first_settlement_month"].dropna() >= 0).all()  # type: ignore[attr-defined]


GUIDE = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    """Every schema model reachable from ``model`` through its fields' annotations."""
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for tp in re.findall(r"\b([A-Z]\w+)\b", str(field.annotation)):
            candidate = getattr(schema, tp, None)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                if candidate.__module__ == schema.__name__:
                    _models(candidate, seen)


def test_scenario_format_names_every_key() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    quoted = " ".join(re.findall(r"`([^`\n]+)`", text))
    models: set[type[BaseModel]] = set()
    _models(schema.Scenario, models)
    missing = sorted(
        f"{m.__name__}.{name}"
        for m in models
        for name in m.model_fields
        if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", quoted)
    )
    assert not missing, f"docs/scenario-format.md does not name: {', '.join(missing)}"
