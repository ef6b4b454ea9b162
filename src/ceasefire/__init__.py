"""ceasefire: a leader's war-termination calculus, simulated under uncertainty.

>>> import ceasefire
>>> scenario = ceasefire.load_scenario("russia-ukraine-2026")
>>> result = ceasefire.simulate(scenario, ceasefire.RunSpec.from_scenario(scenario, samples=20, paths=50))
>>> summary = ceasefire.summarize(result)
"""

from __future__ import annotations

__version__ = "0.5.0"

from ceasefire.errors import CeasefireError, ScenarioError
from ceasefire.run.experiment import RunResult, RunSpec
from ceasefire.run.experiment import run as simulate
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
    "simulate",
    "summarize",
]
