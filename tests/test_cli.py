"""The command line, through its entry point: output, files, and errors that exit with code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app

runner = CliRunner()
SMALL = ["--samples", "4", "--paths", "25", "--horizon", "24"]


def test_run_prints_the_summary_table() -> None:
    result = runner.invoke(app, ["run", "russia-ukraine-2026", *SMALL])
    assert result.exit_code == 0, result.output
    assert "settlement within 36 months" not in result.output  # beyond the 24-month horizon: not estimated
    # the ceasefire's survival is estimated (Kaplan-Meier) year by year within the horizon only
    assert "ceasefire still holds 3 years" not in result.output
    for row in (
        "settlement within 6 months",
        "settlement within 12 months",
        "settlement within 24 months",
        "settlement within horizon",
        "median month of settlement",
        "casualties Russia until settlement",
        "casualties Ukraine until settlement",
        "final line",
        "terms agreed",
        "Vladimir Putin loses office",
        "Volodymyr Zelensky loses office",
        "ceasefire still holds 1 year after signing",
        "ceasefire still holds 2 years after signing",
        "Russia, whole horizon",
        "Ukraine, whole horizon",
        "delay due to mutual optimism",
        "Bargaining range",
    ):
        assert row in result.output


def test_json_and_parquet_carry_the_same_numbers(tmp_path: Path) -> None:
    out_json, out_pq = tmp_path / "r.json", tmp_path / "r.parquet"
    result = runner.invoke(
        app, ["run", "russia-ukraine-2026", *SMALL, "--json", str(out_json), "--parquet", str(out_pq), "-q"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out_json.read_text())
    frame = pd.read_parquet(out_pq)
    assert len(frame) == 4 * 25 == len(doc["paths"]["sample"])
    settled = (frame["first_settlement_month"] >= 0) & (frame["first_settlement_month"] < 12)
    assert doc["summary"]["settle_within"]["12 months"]["p"] == pytest.approx(settled.mean())
    assert doc["manifest"]["seed"] == 20260201 and len(doc["manifest"]["scenario_sha256"]) == 64
    import pyarrow.parquet as pq

    meta = pq.read_schema(out_pq).metadata
    assert json.loads(meta[b"ceasefire.summary"]) == doc["summary"]
    assert list(frame["casualties_A_horizon"]) == pytest.approx(doc["paths"]["casualties_A_horizon"])


def test_json_to_stdout_is_machine_readable() -> None:
    result = runner.invoke(app, ["run", "russia-ukraine-2026", *SMALL, "--json", "-"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {"manifest", "summary", "paths"}


def test_same_seed_same_numbers_different_seed_different() -> None:
    def numbers(seed: str) -> dict:
        r = runner.invoke(app, ["run", "russia-ukraine-2026", *SMALL, "--seed", seed, "--json", "-"])
        return json.loads(r.stdout)

    a, b, c = numbers("7"), numbers("7"), numbers("8")
    assert a["paths"] == b["paths"] and a["summary"]["settle_within"] == b["summary"]["settle_within"]
    assert a["paths"]["casualties_A_horizon"] != c["paths"]["casualties_A_horizon"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "no-such-scenario"], "no-such-scenario"),
        (["run", "russia-ukraine-2026", "--lever", "no-such-lever=1"], "unknown lever 'no-such-lever'"),
        (["run", "russia-ukraine-2026", "--lever", "more-military-aid=9"], "intensity must lie in [0, 2]"),
        (["run", "russia-ukraine-2026", "--lever", "carrot=abc"], "expected NAME or NAME=INTENSITY"),
        (["run", "russia-ukraine-2026", "--policy", "clairvoyant"], "expected one of optimal, myopic"),
    ],
)
def test_bad_input_exits_2_with_one_clear_message(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_bad_scenario_file_names_file_key_and_line(tmp_path: Path) -> None:
    from ceasefire.scenario.load import LIBRARY

    text = (LIBRARY / "russia-ukraine-2026.toml").read_text(encoding="utf-8")
    bad = text.replace(
        'casualties_per_day = { dist = "triangular", low = 850,',
        'casualties_per_day = { dist = "triangular", low = 1850,',
    )
    assert bad != text
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    line = next(i for i, row in enumerate(bad.splitlines(), 1) if row.startswith("casualties_per_day"))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert f"bad.toml:{line}" in result.output
    assert "attrition.casualties_per_day" in result.output
    assert "Traceback" not in result.output


def test_validate_and_scenarios_commands() -> None:
    listed = runner.invoke(app, ["scenarios"])
    assert listed.exit_code == 0 and "russia-ukraine-2026" in listed.output
    checked = runner.invoke(app, ["validate", "russia-ukraine-2026"])
    assert checked.exit_code == 0 and "valid" in checked.output


def test_console_script_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ceasefire", "run", "russia-ukraine-2026", *SMALL, "-q", "--json", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["samples"] == 4
