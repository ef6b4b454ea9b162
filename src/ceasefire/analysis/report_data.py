"""What the HTML report shows, as data: the report's options, its sections and :class:`ReportData`.

A light module of types only, shared by the computing (:mod:`ceasefire.analysis.report_compute`)
and the rendering (:mod:`ceasefire.report.html`), which imports nothing that runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ceasefire.scenario.schema import Scenario

__all__ = ["ANALYSIS_SECTIONS", "PROGRESS_TOTAL", "Progress", "ReportData", "ReportOptions"]

ANALYSIS_SECTIONS = ("why", "levers", "claims", "sensitivity")
"""Sections made by the analysis modules; each may be left out (``sections=``). The report's others
(headline, course, parameters, run) are made from the model run alone, and always there."""
PROGRESS_TOTAL = 1000
"""The progress callback counts the whole report in this many steps."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: what the report is computing, and how far it is, of the whole."""


@dataclass(frozen=True)
class ReportOptions:
    """What to compute: run sizes and sections.

    ``samples``/``paths``/``seed``/``horizon`` default to the scenario's run sizes (the headline
    run). ``course_*``: the recorded run of the war's course. ``why_*``: each leader's Shapley
    coalitions (default: ``ceasefire explain``'s, so that its numbers are the report's).
    ``analysis_*``: each evaluation of the Morris screen (paths) and of the price of peace's search.
    ``lever_*``: the lever study's batches (samples per batch, paths per sample, samples at most;
    by default :func:`ceasefire.analysis.levers.study_sizes` of the headline's sizes, as
    ``ceasefire claims`` uses) and the 95% half-width of every lever's change in P(settlement)
    they are added for.
    """

    samples: int | None = None
    paths: int | None = None
    seed: int | None = None
    horizon: int | None = None
    course_samples: int = 40
    course_paths: int = 50
    why_samples: int | None = None
    why_paths: int | None = None
    analysis_samples: int = 12
    analysis_paths: int = 24
    lever_half_width: float = 0.03
    lever_batch_samples: int | None = None
    lever_paths: int | None = None
    lever_max_samples: int | None = None
    morris_trajectories: int = 4
    sensitivity_output: str | None = None
    """The output the Morris screen explains (a sweep metric; default ``sensitivity.DEFAULT_OUTPUT``)."""
    price_maxiter: int = 5
    compare_beliefs: bool = True
    sections: tuple[str, ...] = ANALYSIS_SECTIONS

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if s not in ANALYSIS_SECTIONS]
        if unknown:
            raise ValueError(
                f"unknown report section(s) {', '.join(unknown)}; "
                f"the optional sections are {', '.join(ANALYSIS_SECTIONS)}"
            )
        optional = ("why_samples", "why_paths", "lever_batch_samples", "lever_paths", "lever_max_samples")
        required = ("course_samples", "course_paths", "analysis_samples", "analysis_paths", "morris_trajectories")
        for name in (*required, "price_maxiter", *optional):
            value = getattr(self, name)
            if (value is not None or name not in optional) and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if self.morris_trajectories < 2:
            raise ValueError(f"morris_trajectories must be at least 2, got {self.morris_trajectories}")
        if not (math.isfinite(self.lever_half_width) and 0 < self.lever_half_width < 1):
            raise ValueError(f"lever_half_width must be a probability in (0, 1), got {self.lever_half_width!r}")


@dataclass(frozen=True)
class ReportData:
    """What the report shows, computed: JSON-friendly dicts, and the scenario itself."""

    scenario: Scenario
    summary: dict[str, Any]
    curves: dict[str, Any]
    curves_true_beliefs: dict[str, Any] | None
    survival: dict[str, Any]
    course: dict[str, Any]
    analyses: dict[str, dict[str, Any]]
    unavailable: dict[str, str]  # analysis section -> why it is not in the report
    run_info: dict[str, Any] = field(default_factory=dict)
