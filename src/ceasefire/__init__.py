"""ceasefire: a leader's war-termination calculus, simulated under uncertainty.

>>> import ceasefire
>>> scenario = ceasefire.load_scenario("russia-ukraine-2026")
>>> spec = ceasefire.RunSpec.from_scenario(scenario, samples=20, paths=50, workers=1)
>>> result = ceasefire.simulate(scenario, spec)
>>> summary = ceasefire.summarize(result)         # what `ceasefire run` prints
>>> frame = ceasefire.paths_frame(result)         # one row per path (pandas), never-settled as <NA>
>>> ds = ceasefire.paths_dataset(result)          # samples x paths x months (xarray)

Each analysis result (``ceasefire.analysis``) has ``.to_dict()`` and ``ceasefire.to_frame(result)``.

The public names are loaded when first used (PEP 562): ``import ceasefire.model`` (the pure kernels)
pulls in neither pydantic, nor the scenario schema, nor pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.6.0"

_PUBLIC = {
    "CeasefireError": "ceasefire.errors",
    "ScenarioError": "ceasefire.errors",
    "RunResult": "ceasefire.run.experiment",
    "RunSpec": "ceasefire.run.experiment",
    "simulate": "ceasefire.run.budget",  # experiment.run after the size and memory checks
    "Summary": "ceasefire.run.summary",
    "summarize": "ceasefire.run.summary",
    "list_scenarios": "ceasefire.scenario.load",
    "load_scenario": "ceasefire.scenario.load",
    "Scenario": "ceasefire.scenario.schema",
    "OptimalStopping": "ceasefire.solve.lsm",
    "PathSet": "ceasefire.solve.lsm",
    "StoppingResult": "ceasefire.solve.lsm",
    "paths_dataset": "ceasefire.run.frames",
    "paths_frame": "ceasefire.run.frames",
    "to_frame": "ceasefire.analysis.frames",
}
"""Each public name and the module that defines it."""

__all__ = [
    "CeasefireError",
    "OptimalStopping",
    "PathSet",
    "RunResult",
    "RunSpec",
    "Scenario",
    "ScenarioError",
    "StoppingResult",
    "Summary",
    "__version__",
    "list_scenarios",
    "load_scenario",
    "paths_dataset",
    "paths_frame",
    "simulate",
    "summarize",
    "to_frame",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ceasefire' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # the names as the type checker sees them
    from ceasefire.analysis.frames import to_frame
    from ceasefire.errors import CeasefireError, ScenarioError
    from ceasefire.run.budget import simulate
    from ceasefire.run.experiment import RunResult, RunSpec
    from ceasefire.run.frames import paths_dataset, paths_frame
    from ceasefire.run.summary import Summary, summarize
    from ceasefire.scenario.load import list_scenarios, load_scenario
    from ceasefire.scenario.schema import Scenario
    from ceasefire.solve.lsm import OptimalStopping, PathSet, StoppingResult
