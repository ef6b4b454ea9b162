"""Back-tests: the historical scenarios, their recorded ends, the percentile and the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.analysis.backtest import (
    HISTORY,
    backtest,
    history_of,
    real_month,
    sample_percentiles,
    settlement_percentile,
    terms_shares,
)
from ceasefire.cli import app
from ceasefire.scenario.load import LIBRARY, list_scenarios, load_scenario

SMALL = {"samples": 4, "paths": 20, "workers": 1}
runner = CliRunner()


def test_at_least_three_back_tests_ship_and_none_is_held_out() -> None:
    assert len(HISTORY) >= 3
    assert set(HISTORY) <= set(list_scenarios())
    # kept for an independent check (issue 30)
    assert not any("korea" in name or "iran-iraq" in name for name in list_scenarios())


@pytest.mark.parametrize("name", sorted(HISTORY))
def test_each_record_fits_its_scenario(name: str) -> None:
    sc = load_scenario(name)
    h = history_of(sc)
    assert h.scenario == sc.scenario.id == name
    assert h.terms in {t.id for t in sc.terms}
    assert h.source in sc.sources
    assert sc.scenario.no_deal_at_start  # every war was observed to go on at its start
    month = real_month(sc.scenario.start, h.ended)
    assert 0 < month < sc.scenario.horizon  # the horizon covers the real end, with room after it
    # written blind: the real terms are on the table from the start, not from the month they were signed
    assert next(t for t in sc.terms if t.id == h.terms).available_from == 0


def test_the_recorded_months() -> None:
    months = {name: real_month(load_scenario(name).scenario.start, h.ended) for name, h in HISTORY.items()}
    assert months == {"falklands-1982": 1, "winter-war-1939": 3, "russo-japanese-1904": 18, "chaco-1932": 33}


def test_real_month_counts_whole_model_months() -> None:
    start = dt.date(2000, 1, 1)
    assert real_month(start, start) == 0
    assert real_month(start, dt.date(2000, 1, 31)) == 0  # 30 days < 30.4375
    assert real_month(start, dt.date(2000, 2, 1)) == 1  # 31 days
    assert real_month(start, dt.date(2001, 1, 1)) == 12  # 366 days: 12.02 months
    with pytest.raises(ValueError, match="before the scenario starts"):
        real_month(start, dt.date(1999, 12, 31))


def test_percentile_of_a_hand_made_distribution() -> None:
    # first settlement months of 8 paths; -1 never settled (after the horizon)
    first = np.array([-1, 0, 1, 1, 2, 3, -1, 5])
    assert settlement_percentile(first, 1) == (1 / 8, 2 / 8)  # mid-rank: 100 * (1/8 + 1/16) = 18.75
    assert settlement_percentile(first, 0) == (0.0, 1 / 8)
    assert settlement_percentile(first, 4) == (5 / 8, 0.0)
    # never-settled paths count as later than any month, however late
    assert settlement_percentile(first, 1000) == (6 / 8, 0.0)
    assert settlement_percentile(np.full(5, -1), 3) == (0.0, 0.0)
    with pytest.raises(ValueError):
        settlement_percentile(np.array([], dtype=np.int64), 1)


def test_per_sample_percentiles_average_to_the_pooled_one() -> None:
    first = np.array([0, 1, -1, 2, 3, 3, -1, -1])
    sample = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    per_sample = sample_percentiles(first, sample, 1)
    assert per_sample == pytest.approx([100 * (1 / 4 + 1 / 8), 0.0])
    before, at = settlement_percentile(first, 1)
    assert per_sample.mean() == pytest.approx(100 * (before + at / 2))


def test_terms_shares_count_none() -> None:
    shares = terms_shares(np.array([-1, 0, 2, 2, -1, 2]), ["a", "b", "c"])
    assert shares == pytest.approx({"none": 2 / 6, "a": 1 / 6, "b": 0.0, "c": 3 / 6})


def test_a_scenario_without_a_record_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no real outcome is recorded.*falklands-1982"):
        history_of(load_scenario("russia-ukraine-2026"))


@pytest.mark.parametrize("name", sorted(HISTORY))
def test_each_back_test_runs_at_a_small_size(name: str) -> None:
    sc = load_scenario(name)
    r = backtest(sc, **SMALL)  # type: ignore[arg-type]
    assert (r.samples, r.paths, r.seed, r.horizon) == (4, 20, sc.run.seed, sc.scenario.horizon)
    assert r.real_month == real_month(sc.scenario.start, HISTORY[name].ended)
    assert 0.0 <= r.p_before <= r.p_by <= r.p_settled <= 1.0
    assert r.percentile == pytest.approx(100 * (r.p_before + (r.p_by - r.p_before) / 2))
    assert r.percentile_se is not None and r.percentile_se >= 0
    assert 0.0 <= r.percentile_samples[0] <= r.percentile_samples[1] <= 100.0
    assert 0.0 <= r.p_window <= r.p_settled
    assert sum(r.terms.values()) == pytest.approx(1.0)
    assert r.terms["none"] == pytest.approx(1 - r.p_settled)
    assert r.share_real_terms == r.terms[r.real_terms]
    assert r.modal_terms == max(r.terms, key=r.terms.__getitem__)
    if r.p_settled > 0:
        assert r.share_real_terms_if_settled == pytest.approx(r.share_real_terms / r.p_settled)
    assert 0.0 <= r.under_successor <= r.p_settled
    assert set(r.under_successor_of) == {"A", "B"}
    assert max(r.under_successor_of.values()) <= r.under_successor <= sum(r.under_successor_of.values()) + 1e-12
    assert set(r.successor_signed) <= {"A", "B"}
    json.dumps(r.to_dict(), allow_nan=False)


def test_a_horizon_that_ends_before_the_real_settlement_is_refused(tmp_path: Path) -> None:
    text = (LIBRARY / "winter-war-1939.toml").read_text(encoding="utf-8").replace("horizon = 36", "horizon = 2")
    (tmp_path / "short.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="horizon \\(2 months\\) ends before the real settlement \\(month 3\\)"):
        backtest(load_scenario(tmp_path / "short.toml"), **SMALL)  # type: ignore[arg-type]


def test_the_command_prints_the_table_and_writes_json() -> None:
    args = ["backtest", "falklands-1982", "winter-war-1939", "--samples", "2", "--paths", "10", "--workers", "1"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    shows = ("percentile of the real month", "1982-06-14, month 1, on 'surrender'", "winter-war-1939", "Back-tests")
    for text in shows:
        assert text in shown.output
    written = runner.invoke(app, [*args, "--window", "1", "--json", "-"])
    assert written.exit_code == 0, written.output
    doc = json.loads(written.stdout)
    rows = {r["scenario"]: r for r in doc["backtests"]}
    assert list(rows) == ["falklands-1982", "winter-war-1939"]
    assert rows["winter-war-1939"]["real_terms"] == "moscow-peace"
    assert rows["winter-war-1939"]["window"] == 1
    assert (rows["falklands-1982"]["samples"], rows["falklands-1982"]["paths"]) == (2, 10)


def test_the_command_refuses_a_scenario_without_a_record() -> None:
    result = runner.invoke(app, ["backtest", "russia-ukraine-2026", "--samples", "2", "--paths", "10"])
    assert result.exit_code == 2
    assert "no real outcome is recorded" in result.output
