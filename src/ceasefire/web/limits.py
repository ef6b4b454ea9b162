"""How much work one request may cause, and the checks on what a browser sends.

A preview runs at a fixed small size (about a second); a full run at the scenario's own size,
capped; only ``max_full_runs`` full runs at a time (:class:`RunLimits`).
Slider values arrive from the browser as JSON; :func:`clean_levers` and :func:`clean_assumptions`
accept only known ids and finite numbers inside their ranges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ceasefire.run.executor import cpus
from ceasefire.run.experiment import RunSpec
from ceasefire.scenario.schema import SIDES, Scenario


@dataclass(frozen=True)
class RunLimits:
    """Run sizes the dashboard uses and the most it will do at once."""

    preview_samples: int = 16
    preview_paths: int = 40
    preview_horizon: int | None = None  # the scenario's horizon
    full_max_samples: int = 200
    full_max_paths: int = 200
    max_horizon: int = 120
    max_full_runs: int = 1
    max_previews: int = field(default_factory=cpus)
    """Previews computing at once (K)."""
    preview_queue: int = field(default_factory=lambda: 4 * cpus())
    """Previews waiting for a free slot (Q); one more is refused at once as busy."""
    preview_wait: float = 5.0
    """Seconds a preview waits for a slot before it is refused as busy."""
    preview_cache: int = 512
    """Preview answers kept (least recently used dropped first)."""
    kept_jobs: int = 20

    def __post_init__(self) -> None:
        for f in fields(self):  # every count is at least 1 but the queue, which may be empty
            least = 0 if f.name == "preview_queue" else 1
            if f.type == "int" and getattr(self, f.name) < least:
                raise ValueError(f"RunLimits.{f.name} must be at least {least}, got {getattr(self, f.name)}")
        if not (math.isfinite(self.preview_wait) and self.preview_wait > 0):
            raise ValueError(f"RunLimits.preview_wait must be a positive number of seconds, got {self.preview_wait}")


def preview_spec(scenario: Scenario, limits: RunLimits) -> RunSpec:
    """The quick preview: a small fixed size, the scenario's seed."""
    horizon = min(limits.preview_horizon or scenario.scenario.horizon, limits.max_horizon)
    return RunSpec.from_scenario(scenario, samples=limits.preview_samples, paths=limits.preview_paths, horizon=horizon)


def full_spec(scenario: Scenario, limits: RunLimits) -> RunSpec:
    """The full run: the scenario's own sizes, capped by the limits."""
    spec = RunSpec.from_scenario(scenario)
    return replace(
        spec,
        samples=min(spec.samples, limits.full_max_samples),
        paths=min(spec.paths, limits.full_max_paths),
        horizon=min(spec.horizon, limits.max_horizon),
    )


@dataclass(frozen=True)
class Assumption:
    """A key assumption the dashboard exposes: every sample's value is shifted or scaled."""

    path: str
    label: str
    kind: str  # "shift": value + x;  "scale": value * x
    low: float
    high: float
    step: float
    neutral: float  # the slider position that leaves the scenario as it is


SCALED_REASONS = {"legitimacy": "the war as legitimacy", "punishment": "punishment on removal"}
"""Leader A's reasons (``leaders.A.reasons.KEY``) the dashboard scales, with their slider labels."""


def assumptions(scenario: Scenario) -> list[Assumption]:
    """The assumption sliders offered for ``scenario`` (parameters every scenario has)."""
    lead = {s: scenario.leaders[s].name for s in SIDES}  # type: ignore[index]
    side = {s: scenario.sides[s].name for s in SIDES}  # type: ignore[index]
    optimism = "optimism (added to the log-bias on his own power)"
    out = [Assumption(f"leaders.{s}.optimism", f"{lead[s]}: {optimism}", "shift", -0.3, 0.3, 0.05, 0.0) for s in SIDES]
    sanctions = f"{side['A']}: sanctions already in place (added share of commodity revenue lost)"
    out.append(Assumption("sides.A.economy.sanctions", sanctions, "shift", 0.0, 0.5, 0.05, 0.0))
    out += [
        Assumption(f"leaders.A.reasons.{key}", f"{lead['A']}: {what} (× scenario value)", "scale", 0.0, 2.0, 0.25, 1.0)
        for key, what in SCALED_REASONS.items()
    ]
    return out


def _clean(
    values: Mapping[Any, Any], what: str, quantity: str, ranges: Mapping[str, tuple[float, float, float]]
) -> dict[str, float]:
    """Slider positions from the browser: known ``what`` ids, finite numbers inside their ``(low, high,
    neutral)`` range; those at their neutral position dropped. ``quantity`` names what must lie in the range."""
    out: dict[str, float] = {}
    for key, value in values.items():
        if not isinstance(key, str) or key not in ranges:
            raise ValueError(f"unknown {what} {str(key)[:64]!r}")
        low, high, neutral = ranges[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{what} {key}: expected a finite number, got {str(value)[:40]!r}")
        x = float(value)
        if not low <= x <= high:
            raise ValueError(f"{what} {key}: {quantity}must lie in [{low:g}, {high:g}], got {x:g}")
        if x != neutral:
            out[key] = x
    return out


def clean_levers(scenario: Scenario, values: Mapping[Any, Any]) -> dict[str, float]:
    """Lever intensities from the browser: known lever ids, numbers in ``[0, intensity_max]``; zeros dropped."""
    return _clean(values, "lever", "intensity ", {lv.id: (0.0, lv.intensity_max, 0.0) for lv in scenario.levers})


def clean_assumptions(scenario: Scenario, values: Mapping[Any, Any]) -> dict[str, float]:
    """Assumption slider positions from the browser: known paths, numbers in range; neutral ones dropped."""
    return _clean(values, "assumption", "", {a.path: (a.low, a.high, a.neutral) for a in assumptions(scenario)})
