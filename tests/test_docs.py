"""The format's guide names every key the validator accepts."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ceasefire.scenario import schema

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
