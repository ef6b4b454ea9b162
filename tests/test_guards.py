"""The numerical guard: a NaN or infinity never leaves a run; the error names the month and the parameters."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import CeasefireError
from ceasefire.model import engine
from ceasefire.model.params import Pair
from ceasefire.run import experiment, guards
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.guards import NumericalError, find_non_finite
from ceasefire.scenario.load import LIBRARY, parse_scenario
from ceasefire.scenario.schema import Scenario, iter_params
from conftest import simulate_flat

TEXT = (LIBRARY / "russia-ukraine-2026.toml").read_text(encoding="utf-8")
OVERFLOW = {
    "attrition.fire_exponent": "10",
    "sides.B.forces.manpower_exponent": "10",
    "sides.B.forces.recruitment": "7e6",
    "sides.B.forces.equipment_exponent": "10",
    "sides.B.forces.equipment_production": "9.9",
    "sides.B.forces.aid_equipment": "0",
}
"""Values each inside its bound (scenario/bounds.py: exponents <= 10, a month's growth <= 10 times the
start) that overflow together: B's power grows as about (1 + 10 t)^20 and A's losses as its 10th power."""
SMALL = {"samples": 3, "paths": 4, "horizon": 12, "policy": "myopic", "seed": 5}
runner = CliRunner()
# these tests overflow on purpose: NumPy's warnings about it are expected (the CLI's `main` silences them)
EXPECTED_OVERFLOW = pytest.mark.filterwarnings("ignore:(overflow|invalid value) encountered:RuntimeWarning")


def scenario(text: str = TEXT) -> Scenario:
    # without the month-0 screen, so that every sample drawn is simulated (faster and simpler)
    return parse_scenario(text.replace("no_deal_at_start = true", "no_deal_at_start = false"), "guard.toml")


def overflowing() -> str:
    """A scenario that passes validation (every value inside its bound) but overflows (:data:`OVERFLOW`)."""
    lines, table = TEXT.splitlines(), ""
    for n, line in enumerate(lines):
        if line.startswith("["):
            table = line.strip("[]")
        key = line.split(" = ", 1)[0]
        if f"{table}.{key}" in OVERFLOW:
            value = OVERFLOW[f"{table}.{key}"]
            lines[n] = f'{key} = {{ value = {value}, source = "assumption", note = "absurd together" }}'
        elif line == "[[terms]]":  # no deal ends the war before it overflows
            lines[n] = "[[terms]]\navailable_from = 600"
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def quick_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "DIAGNOSIS_SECONDS", 20.0)


@pytest.fixture(scope="module")
def clean() -> Any:
    sc = scenario()
    return run(sc, RunSpec.from_scenario(sc, **SMALL))


# -- what counts as non-finite ----------------------------------------------------------------


def test_a_clean_run_passes_and_its_designed_nans_are_allowed(clean: Any) -> None:
    o = clean.outcomes
    assert find_non_finite(o, SMALL["paths"]) is None
    # the breakdown rate is NaN on paths without a ceasefire: by design, and allowed
    assert np.isnan(o.ceasefire_break_rate[o.first_settlement < 0]).all()


def _with(o: Any, name: str, key: str | None, index: Any, value: float) -> Any:
    field = getattr(o, name)
    if key is None:
        arr = field.copy()
        arr[index] = value
        return dataclasses.replace(o, **{name: arr})
    arr = field[key].copy()
    arr[index] = value
    return dataclasses.replace(o, **{name: {**field, key: arr}})


@pytest.mark.parametrize(
    ("name", "key", "index", "value"),
    [
        ("casualties_total", "A", 6, np.nan),
        ("casualties_to_settlement", "B", 5, np.inf),
        ("held_at_end", None, 9, -np.inf),
        ("objectives_taken", None, (7, 1), np.nan),
    ],
)
def test_every_outcome_is_checked_and_the_path_named(
    clean: Any, name: str, key: str | None, index: Any, value: float
) -> None:
    bad = _with(clean.outcomes, name, key, index, value)
    finding = find_non_finite(bad, SMALL["paths"])
    assert finding is not None
    assert finding.field == (f"{name}.{key}" if key else name)
    path = index[0] if isinstance(index, tuple) else index
    assert (finding.sample, finding.path) == (path // SMALL["paths"], path % SMALL["paths"])
    assert np.isnan(finding.value) if np.isnan(value) else finding.value == value


def test_nan_where_it_means_none_but_not_elsewhere(clean: Any) -> None:
    o = clean.outcomes
    settled = np.flatnonzero(o.first_settlement >= 0)
    never = np.flatnonzero(o.first_settlement < 0)
    if never.size:
        assert find_non_finite(_with(o, "ceasefire_break_rate", None, never[0], np.nan), 4) is None
        assert find_non_finite(_with(o, "ceasefire_break_rate", None, never[0], np.inf), 4) is not None
    # on a path with a ceasefire the rate exists: NaN there is a failure
    fake = dataclasses.replace(o, first_settlement=np.where(np.arange(o.sample.size) == 0, 3, o.first_settlement))
    fake = _with(fake, "ceasefire_break_rate", None, 0, np.nan)
    finding = find_non_finite(fake, 4)
    assert finding is not None and finding.field == "ceasefire_break_rate" and finding.path == 0
    assert settled.size + never.size == o.sample.size


def test_monthly_records_allow_nan_but_not_infinity(clean: Any) -> None:
    o = clean.outcomes
    low = o.monthly["range_low"].copy()
    low[2, 5] = np.nan
    assert find_non_finite(dataclasses.replace(o, monthly={**o.monthly, "range_low": low}), 4) is None
    low[3, 10] = np.inf
    finding = find_non_finite(dataclasses.replace(o, monthly={**o.monthly, "range_low": low}), 4)
    assert finding is not None and finding.field == "monthly.range_low" and (finding.sample, finding.path) == (2, 2)


def test_monthly_finding_names_the_path_of_its_column(clean: Any) -> None:
    """With columns for some paths only, a bad column is traced back to its path."""
    o = clean.outcomes
    ranged = np.arange(o.sample.size) % 4 >= 2  # the last two of each sample's four paths
    monthly = {k: v[:, ranged] for k, v in o.monthly.items()}
    monthly["range_high"] = monthly["range_high"].copy()
    monthly["range_high"][1, 3] = -np.inf  # column 3: sample 1's path 3
    finding = find_non_finite(dataclasses.replace(o, monthly_paths=ranged, monthly=monthly), 4)
    assert finding is not None and finding.field == "monthly.range_high"
    assert (finding.sample, finding.path) == (1, 3)


# -- a scenario that passes validation but overflows -------------------------------------------


@EXPECTED_OVERFLOW
def test_overflow_names_month_variable_and_parameter() -> None:
    sc = scenario(overflowing())
    with pytest.raises(NumericalError) as info:
        run(sc, RunSpec.from_scenario(sc, **SMALL))
    err = info.value
    assert isinstance(err, CeasefireError)
    assert err.field.startswith(("casualties_total.", "casualties_to_settlement."))
    assert err.sample == 0
    assert err.variable in ("casualties_A", "casualties_B")
    assert err.month is not None and 0 <= err.month < SMALL["horizon"]
    # no single reset to a median cures it: the most extreme values are named, one of the overflowing ones first
    assert not err.culprits_found
    first = next(iter(err.parameters))
    assert first in OVERFLOW
    text = str(err)
    assert f"in month {err.month}" in text and f"{first} = {err.parameters[first]:g}" in text


@EXPECTED_OVERFLOW
def test_the_error_survives_pickling_with_its_fields() -> None:
    """A sweep's worker process sends the error back to the caller by pickling it."""
    import pickle

    sc = scenario(overflowing())
    with pytest.raises(NumericalError) as info:
        run(sc, RunSpec.from_scenario(sc, **SMALL))
    err = info.value
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is NumericalError and str(back) == str(err)
    assert (back.field, back.sample, back.month, back.variable, back.parameters) == (
        err.field,
        err.sample,
        err.month,
        err.variable,
        err.parameters,
    )


@EXPECTED_OVERFLOW
def test_the_month_is_the_first_with_a_non_finite_state() -> None:
    """Cross-check the reported month against the monthly records of the same sample."""
    sc = scenario(overflowing())
    spec = RunSpec.from_scenario(sc, **SMALL)
    with pytest.raises(NumericalError) as info:
        run(sc, spec)
    # simulate the failing sample (the first) directly, with monthly records
    from ceasefire.model.engine import per_path
    from ceasefire.run.sampling import Seeds

    values = experiment.candidate_parameters(sc, spec.samples, Seeds.from_seed(spec.seed), 0)
    one = {k: v[:1] for k, v in values.items()}
    with np.errstate(all="ignore"):
        out = simulate_flat(sc, per_path(one, 4), [Seeds.from_seed(spec.seed).path_seed(0)], 4,
                       dataclasses.replace(spec.config(), record=True), {})  # fmt: skip
    cas = out.trajectories[info.value.variable]
    first_row = int(np.flatnonzero(~np.isfinite(cas).all(axis=1))[0])
    assert info.value.month == first_row - 1
    assert np.isfinite(cas[:first_row]).all()


# -- a kernel forced to make a NaN ----------------------------------------------------------------


def test_forced_nan_names_the_parameter_that_causes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A patched kernel turns side A's casualties into NaN at the end of month 4 on paths where side B's
    reserves are above the median: the guard must name month 4, the casualties and the reserves. The
    diagnosis's time budget is lifted: this checks what it finds, not how fast (a loaded machine)."""
    monkeypatch.setattr(guards, "DIAGNOSIS_SECONDS", math.inf)
    sc = scenario()
    threshold = dict(iter_params(sc))["sides.B.economy.reserves"].nominal()
    original = engine.month

    def month(w: Any, st: Any, s: Any, t: int, *args: Any) -> Any:
        s, decision = original(w, st, s, t, *args)
        if t == 4:  # the end of month 4 of the true war
            hit = w.p.sides.B.economy.reserves > threshold
            cum_cas = Pair(np.where(hit, np.nan, s.war.cum_cas.A), s.war.cum_cas.B)
            s = replace(s, war=replace(s.war, cum_cas=cum_cas))
        return s, decision

    monkeypatch.setattr(engine, "month", month)
    spec = RunSpec.from_scenario(sc, **{**SMALL, "samples": 6})
    with pytest.raises(NumericalError) as info:
        run(sc, spec)
    err = info.value
    values = experiment.candidate_parameters(sc, 6, experiment.Seeds.from_seed(spec.seed), 0)
    first = int(np.flatnonzero(values["sides.B.economy.reserves"] > threshold)[0])
    assert err.sample == first
    assert err.field in ("casualties_total.A", "casualties_to_settlement.A")
    assert (err.month, err.variable) == (4, "casualties_A")
    assert err.culprits_found and list(err.parameters) == ["sides.B.economy.reserves"]
    assert err.parameters["sides.B.economy.reserves"] == pytest.approx(values["sides.B.economy.reserves"][first])


def test_a_nan_parameter_draw_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scenario()
    original = experiment.sample_parameters

    def draws(*args: Any, **kwargs: Any) -> dict[str, Any]:
        values = original(*args, **kwargs)
        values["leaders.B.discount"] = values["leaders.B.discount"].copy()
        values["leaders.B.discount"][1] = np.nan
        return values

    monkeypatch.setattr(experiment, "sample_parameters", draws)
    with pytest.raises(NumericalError, match=r"parameter leaders\.B\.discount is NaN in sample 1"):
        run(sc, RunSpec.from_scenario(sc, **SMALL))


def test_the_guard_is_off_the_numbers(clean: Any) -> None:
    """A clean run gives the same numbers with every chunk size (the guard changes nothing)."""
    sc = clean.scenario
    again = run(sc, clean.spec, chunk_samples=1)
    assert np.array_equal(again.outcomes.casualties_total["A"], clean.outcomes.casualties_total["A"])
    assert np.array_equal(again.outcomes.first_settlement, clean.outcomes.first_settlement, equal_nan=False)


# -- through the command line -----------------------------------------------------------------


@EXPECTED_OVERFLOW
def test_cli_reports_the_failure_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "overflow.toml"
    path.write_text(overflowing().replace("no_deal_at_start = true", "no_deal_at_start = false"), encoding="utf-8")
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0  # valid as a file: the guard is what catches it
    result = runner.invoke(
        app,
        ["run", str(path), "--samples", "2", "--paths", "4", "--horizon", "12", "--policy", "myopic",
         "--no-compare-beliefs", "-q", "--json", str(tmp_path / "out.json")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert out.startswith("error: numerical failure") and any(p in out for p in OVERFLOW) and "month" in out
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.json").exists()  # nothing written with NaN in it
