"""Numerical guards: no NaN or infinity leaves a run unnoticed.

After each chunk of samples, :func:`check_chunk` looks at the chunk's parameter draws and at
every per-path outcome. Some outcomes are NaN *by design* and are allowed where the design
says so (the breakdown rate of a ceasefire that never was; the bargaining range in months of
peace); everything else must be finite. On the first violation it re-simulates the offending
sample alone (a sample's numbers depend on its own seed only, so they come out the same) with
monthly records of the world's state, finds the first month and state variable where the
value stopped being finite, and looks for the parameters responsible: each parameter of that
sample that differs from the scenario's median is reset to the median, one at a time, and
those whose reset makes the sample finite again are named. It then raises
:class:`NumericalError`, which the command line reports as ``error: ...`` with exit code 2.

The check itself costs a few vectorised ``isfinite`` calls per chunk; the diagnosis runs only
on failure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.errors import CeasefireError
from ceasefire.model.engine import Outcomes, RunConfig
from ceasefire.run.sampling import Values
from ceasefire.scenario.schema import Scenario, iter_params

DIAGNOSIS_SECONDS = 60.0
"""Longest time spent re-simulating one sample to find the parameters responsible."""

SHOWN = 5
"""Parameters listed at most in a message."""

NAN_MEANS_NONE = {
    "ceasefire_break_rate": "no ceasefire was ever agreed on the path",
    "power_at_settlement": "no ceasefire was ever agreed on the path",
    "reserves_at_settlement": "no ceasefire was ever agreed on the path",
}
"""Outcome fields that are NaN by design (the value does not exist), with what NaN means there.

Infinities are never allowed, and these fields must be finite wherever the value exists."""


@dataclass(frozen=True)
class Finding:
    """Where a non-finite number was found."""

    field: str
    """Dotted name of the outcome field (``casualties_total.A``) or of the parameter."""
    path: int
    """Index of the first offending path within its sample (``-1`` for a parameter)."""
    sample: int
    """Chunk-local index of the sample the path belongs to."""
    value: float


class NumericalError(CeasefireError):
    """A run produced NaN or infinity where a number was expected.

    Attributes
    ----------
    field
        The outcome (or parameter) that was not finite, e.g. ``casualties_total.A``.
    sample
        The run-wide index of the outer sample where it happened.
    month
        The 0-based month at whose end a recorded state variable first stopped being finite
        (``None`` when the monthly records stayed finite or the diagnosis was not run).
    variable
        That state variable (``casualties_A``, ``reserves_B``, ...), if found.
    parameters
        The parameters named as responsible, with the sample's values.
    """

    def __init__(
        self,
        finding: Finding,
        sample: int,
        month: int | None = None,
        variable: str | None = None,
        parameters: Mapping[str, float] | None = None,
        culprits_found: bool = False,
        candidate: int | None = None,
    ) -> None:
        self.field = finding.field
        self.sample = sample
        self.candidate = candidate
        self.month = month
        self.variable = variable
        self.parameters = dict(parameters or {})
        self.culprits_found = culprits_found
        super().__init__(self._message(finding))

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its message and fields: a sweep's worker process sends it back to the caller
        return (_rebuild_numerical_error, (self.args, dict(self.__dict__)))

    def _message(self, finding: Finding) -> str:
        what = "NaN" if math.isnan(finding.value) else f"{finding.value:+}"
        head = f"numerical failure: {self.field} is {what} in sample {self.sample}"
        if self.candidate is not None and self.candidate != self.sample:
            head += f" (candidate sample {self.candidate})"
        if finding.path >= 0:
            head += f", path {finding.path}"
        parts = [head]
        if self.month is not None:
            parts.append(f"{self.variable} first became non-finite in month {self.month}")
        if self.parameters:
            shown = ", ".join(f"{k} = {v:.6g}" for k, v in list(self.parameters.items())[:SHOWN])
            if self.culprits_found:
                more = len(self.parameters) - SHOWN
                also = f" (and {more} more)" if more > 0 else ""
                parts.append(f"the sample is finite again when one of these is reset to its median: {shown}{also}")
            else:
                parts.append(f"no single parameter's median cures it; the sample's most extreme values: {shown}")
        parts.append("check these parameters' ranges in the scenario")
        return "; ".join(parts)


def _rebuild_numerical_error(args: tuple[Any, ...], state: dict[str, Any]) -> NumericalError:
    error = NumericalError.__new__(NumericalError)
    error.args = args
    error.__dict__.update(state)
    return error


# -- finding non-finite numbers ------------------------------------------------------------------


def _first_bad(values: NDArray[np.float64], nan_allowed: NDArray[np.bool_] | bool = False, axis: int = -1) -> int:
    """Index along ``axis`` (the paths) of the first entry that is infinite, or NaN where not allowed; -1 if none."""
    bad: NDArray[np.bool_] = np.asarray(~np.isfinite(values) & ~(np.isnan(values) & nan_allowed))
    if bad.ndim > 1:
        bad = np.asarray(np.moveaxis(bad, axis, -1).reshape(-1, bad.shape[axis]).any(axis=0))
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else -1


def find_non_finite(outcomes: Outcomes, paths: int) -> Finding | None:
    """The first outcome that is NaN or infinite where it must be a number, if any."""
    for name in outcomes.__dataclass_fields__:
        value = getattr(outcomes, name)
        items = value.items() if isinstance(value, dict) else [("", value)]
        for key, arr in items:
            arr = np.asarray(arr)
            if arr.dtype.kind != "f" or arr.size == 0:
                continue
            field = f"{name}.{key}" if key else name
            allowed: NDArray[np.bool_] | bool = False
            if name in NAN_MEANS_NONE:
                allowed = outcomes.first_settlement < 0
            elif name == "monthly" or (name == "trajectories" and key.startswith("gain_")):
                # the bargaining range and the leaders' gains exist only in months decided at war
                allowed = True
            axis = 0 if name == "objectives_taken" else -1  # (paths, objectives); others (months, paths)
            i = _first_bad(arr, allowed, axis)
            if i >= 0:
                column = np.take(arr, i, axis=axis).ravel()
                bad = column[~np.isfinite(column)]
                path = int(np.flatnonzero(outcomes.monthly_paths)[i]) if name == "monthly" else i
                return Finding(field, path % paths, path // paths, float(bad[0]))
    return None


def _bad_parameter(values: Values) -> Finding | None:
    for path, arr in values.items():
        i = _first_bad(np.asarray(arr, dtype=float))
        if i >= 0:
            return Finding(f"parameter {path}", -1, i, float(np.asarray(arr)[i]))
    return None


# -- the guard ------------------------------------------------------------------------------------


def check_chunk(
    outcomes: Outcomes,
    scenario: Scenario,
    values: Values,
    seeds: Sequence[np.random.SeedSequence],
    paths: int,
    config: RunConfig,
    levers: Mapping[str, float],
    sample_offset: int,
    candidates: Sequence[int] | NDArray[np.int64] | None = None,
) -> Outcomes:
    """Return ``outcomes`` unchanged if every number is finite where it must be; else raise.

    Parameters
    ----------
    outcomes
        The chunk's outcomes, from :func:`ceasefire.model.engine.simulate_chunk`.
    values, seeds
        The chunk's per-sample parameter values and seeds (what ``simulate`` was given).
    sample_offset
        Run-wide index of the chunk's first sample (used in the message).
    candidates
        The samples' candidate numbers (their seeds among all samples drawn), shown in the message.

    Raises
    ------
    NumericalError
        Naming the outcome, the sample, and (found by re-simulating the sample) the month, the state
        variable and the parameters responsible.
    """
    finding = _bad_parameter(values) or find_non_finite(outcomes, paths)
    if finding is None:
        return outcomes
    sample = sample_offset + finding.sample
    candidate = None if candidates is None else int(candidates[finding.sample])
    if finding.path < 0:  # a parameter draw itself is not finite: nothing to simulate
        raise NumericalError(finding, sample, candidate=candidate)
    from ceasefire.run.experiment import simulate_values  # not at the top: experiment imports this module

    one = {k: np.asarray(v)[finding.sample : finding.sample + 1] for k, v in values.items()}

    def simulate(values: Values, config: RunConfig) -> Outcomes:
        """The offending sample, with ``values`` (of it alone) and ``config``, simulated again from its seed."""
        return simulate_values(scenario, values, [seeds[finding.sample]], paths, config, levers)

    month, variable = first_bad_month(simulate, one, config)
    culprits, found = responsible_parameters(simulate, scenario, one, paths, config)
    raise NumericalError(finding, sample, month, variable, culprits, found, candidate)


Simulate = Callable[[Values, RunConfig], Outcomes]
"""One sample simulated with the given values and settings (see :func:`check_chunk`)."""


def first_bad_month(simulate: Simulate, values: Values, config: RunConfig) -> tuple[int | None, str | None]:
    """Month (0-based, the state at its end) and state variable where one sample first goes non-finite.

    The sample is simulated again with monthly records; row 0 of a record is the start, row
    ``t + 1`` the state after month ``t``. ``(None, None)`` if every record stays finite. The sample is
    simulated with the engine that failed (``config.backend``), as in :func:`responsible_parameters`.
    """
    out = simulate(values, replace(config, record=True))
    first: tuple[int, str] | None = None
    for name, arr in out.trajectories.items():
        if name.startswith("gain_"):
            continue
        rows = np.flatnonzero((~np.isfinite(arr)).any(axis=1))
        if rows.size and (first is None or rows[0] < first[0]):
            first = (int(rows[0]), name)
    if first is None:
        return None, None
    return max(first[0] - 1, 0), first[1]


def responsible_parameters(
    simulate: Simulate, scenario: Scenario, values: Values, paths: int, config: RunConfig
) -> tuple[dict[str, float], bool]:
    """Parameters of one sample whose reset to the scenario's median makes it finite again.

    Returns ``(parameters with the sample's values, True)``; if no single reset helps (or the
    time budget, :data:`DIAGNOSIS_SECONDS`, runs out), the parameters of largest magnitude and ``False``.
    """
    config = replace(config, record=False)
    medians = dict(iter_params(scenario))
    start = time.perf_counter()
    found: dict[str, float] = {}
    for path, param in medians.items():
        if path not in values or time.perf_counter() - start > DIAGNOSIS_SECONDS:
            continue
        value = float(np.asarray(values[path])[0])
        median = param.nominal()
        if value == median:
            continue
        trial = {**values, path: np.array([median])}
        with np.errstate(all="ignore"):
            if find_non_finite(simulate(trial, config), paths) is None:
                found[path] = value
    if found:
        # the cures furthest (in powers of ten) from the median first
        order = sorted(
            found,
            key=lambda k: -_orders_of_magnitude(found[k] / medians[k].nominal() if medians[k].nominal() else found[k]),
        )
        return {k: found[k] for k in order}, True
    sampled = {k: float(np.asarray(v)[0]) for k, v in values.items()}
    ranked = sorted(sampled, key=lambda k: -_orders_of_magnitude(sampled[k]))
    return {k: sampled[k] for k in ranked[:SHOWN]}, False


def _orders_of_magnitude(value: float) -> float:
    """How many powers of ten a value lies from 1 (either way); 0 for zero, inf for NaN or infinity."""
    if not math.isfinite(value):
        return math.inf
    return 0.0 if value == 0 else abs(math.log10(abs(value)))
