"""ceasefire: a leader's war-termination calculus, simulated under uncertainty.

>>> import ceasefire
>>> scenario = ceasefire.load_scenario("russia-ukraine-2026")
>>> spec = ceasefire.RunSpec.from_scenario(scenario, samples=20, paths=50, workers=1)
>>> result = ceasefire.simulate(scenario, spec)
>>> summary = ceasefire.summarize(result)         # what `ceasefire run` prints
>>> frame = ceasefire.paths_frame(result)         # one row per path (pandas), never-settled as <NA>
>>> ds = ceasefire.paths_dataset(result)          # samples x paths x months (xarray)

Each analysis result (``ceasefire.analysis``) has ``.to_dict()`` and ``ceasefire.to_frame(result)``.
"""

from __future__ import annotations

__version__ = "0.5.0"

from ceasefire.analysis.frames import to_frame
from ceasefire.errors import CeasefireError, ScenarioError
from ceasefire.run.experiment import RunResult, RunSpec
from ceasefire.run.experiment import run as simulate
from ceasefire.run.frames import paths_dataset, paths_frame
from ceasefire.run.summary import Summary, summarize
from ceasefire.scenario.load import list_scenarios, load_scenario
from ceasefire.scenario.schema import Scenario
from ceasefire.solve.lsm import OptimalStopping, PathSet, StoppingResult

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
