"""Bad input of every shape gets a clear answer (issue 32), one test class per family of failure.

* files that parse but nest deeply or hold huge numbers: one located error, no traceback;
* parameters that overflow the dynamics: refused where the file is read, with the bound and why;
* claims about months the run never simulated: undecided, beyond the horizon;
* output targets: devices and pipes written in place, links followed, missing folders refused;
* sizes: every option bounded, runs that cannot fit in memory refused before they start;
* the smaller ones: dashboard callbacks, the preview cache, ``serve --host``, long queries, line
  wrapping of errors, seeds, duplicate aims, ``prior_broken``, NaN in sweep files.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import ScenarioError
from ceasefire.scenario.load import LIBRARY, parse_scenario

FLAGSHIP = "russia-ukraine-2026"
TEXT = (LIBRARY / f"{FLAGSHIP}.toml").read_text(encoding="utf-8")
TINY = ["--samples", "2", "--paths", "4", "--horizon", "6", "-q"]
runner = CliRunner()


def with_line(key: str, value: str, table: str, text: str = TEXT) -> str:
    """The flagship with the parameter ``key`` of ``[table]`` set to a fixed ``value`` on its own line."""
    lines, current = text.splitlines(), ""
    for n, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip("[]")
        elif current == table and line.startswith(f"{key} = "):
            lines[n] = f'{key} = {{ value = {value}, source = "assumption", note = "edge" }}'
            return "\n".join(lines) + "\n"
    raise KeyError(f"{table}.{key}")


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def refused(text: str, file: str = "bad.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file)
    return info.value


def cli_error(result: Any) -> str:
    """The one error message of a command that must exit with code 2 and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return str(result.output)


# -- 1. files that parse: any depth, any number --------------------------------------------------


class TestNestingAndNumbers:
    @pytest.mark.parametrize(
        ("tail", "expected"),
        [
            ("\n[x" + ".a" * 1000 + "]\nb = 1\n", "parts"),  # a table header 1,001 keys deep
            ("\nx" + ".a" * 1000 + " = 1\n", "parts"),  # a dotted key
            ("\nx = " + "{ a = " * 20 + "1" + " }" * 20 + "\n", "nest more than 16"),  # inline tables
            ("\nx = " + "{ a = " * 1000 + "1" + " }" * 1000 + "\n", "nested too deeply"),  # past tomllib's recursion
            ("\nx = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
            ("\n[x" + ".a" * 20 + "]\nb = 1\n", "parts"),
        ],
    )
    def test_deep_nesting_is_one_located_error(self, tail: str, expected: str) -> None:
        text = TEXT + tail
        err = refused(text)
        ((key, line, message),) = err.problems
        assert expected in message and line == TEXT.count("\n") + 2, err.problems
        assert key == "" or "x" in key.split("."), key  # a key/value at the end belongs to the last table

    def test_nesting_at_the_limit_reaches_validation(self) -> None:
        """Sixteen levels pass the shape check (and fail as an unknown key); seventeen do not."""
        at = refused(TEXT + "\n[x]\n" + ".".join(["a"] * 15) + " = 1\n")
        assert "unknown key" in str(at) and "nest" not in str(at)
        beyond = refused(TEXT + "\n[x]\n" + ".".join(["a"] * 16) + " = 1\n")
        assert "tables and lists nest more than 16 deep" in str(beyond)

    def test_a_megabyte_deep_header_is_refused_quickly(self) -> None:
        """tomllib takes time quadratic in a key's parts (16,000 parts: 2 s): refused before parsing."""
        start = time.perf_counter()
        err = refused(TEXT + "\n[x" + ".a" * 400_000 + "]\n")
        assert time.perf_counter() - start < 10
        assert "400,001 parts" in str(err) and len(str(err)) < 1000

    def test_a_whole_number_of_4301_digits_is_located(self) -> None:
        text = TEXT.replace("prior_broken = 2", "prior_broken = " + "9" * 4301)
        err = refused(text)
        ((key, line, message),) = err.problems
        assert (key, line) == ("ceasefire.prior_broken", line_of(TEXT, "prior_broken = 2"))
        assert "4,301 digits" in message and "64 bits" in message

    @pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
    def test_whole_numbers_must_fit_64_bits(self, value: int) -> None:
        err = refused(TEXT.replace("seed = 20260201", f"seed = {value}"))
        ((key, line, message),) = err.problems
        assert key == "run.seed" and line == line_of(TEXT, "seed = 20260201") and "64 bits" in message

    def test_float_magnitude_bound_and_its_edge(self) -> None:
        at = with_line("gain_sd_km2", "1e15", "territory")
        assert parse_scenario(at, "ok.toml").territory.gain_sd_km2.nominal() == 1e15
        err = refused(with_line("gain_sd_km2", "1.0000001e15", "territory"))
        ((key, line, message),) = err.problems
        assert key == "territory.gain_sd_km2.value" and line == line_of(TEXT, "gain_sd_km2 = ")
        assert "at most 1e+15" in message and "600 months" in message  # the bound and its reason

    @pytest.mark.parametrize("command", ["validate", "run"])
    def test_cli_names_file_line_and_key_on_one_line(self, tmp_path: Path, command: str) -> None:
        path = tmp_path / "deep.toml"
        path.write_text(TEXT.replace("prior_broken = 2", "prior_broken = " + "9" * 4301), encoding="utf-8")
        out = cli_error(runner.invoke(app, [command, str(path), *(TINY if command == "run" else [])]))
        line = line_of(TEXT, "prior_broken = 2")
        assert any(f"{path}:{line}: ceasefire.prior_broken:" in row for row in out.splitlines()), out


# -- 2. parameters that overflow the dynamics: refused at the file, with the bound and why -----------

EXAMPLES = [  # the examples: (table, key, value, the bound's reason, a word of it)
    ("attrition", "exchange_ratio", "5e-324", "EXCHANGE_RATIO"),
    ("attrition", "fire_exponent", "1000", "EXPONENT"),
    ("sides.B.forces", "aid_level", "1e20", "MAGNITUDE"),  # beyond every number's magnitude
]


class TestParameterBounds:
    @pytest.mark.parametrize(("table", "key", "value", "bound"), EXAMPLES)
    def test_the_examples_are_refused_at_their_line(self, table: str, key: str, value: str, bound: str) -> None:
        from ceasefire.scenario import bounds

        text = with_line(key, value, table)
        err = refused(text, "edge.toml")
        line = line_of(text, f"{key} = {{ value = {value}")
        ours = [(k, n, m) for k, n, m in err.problems if k.startswith(f"{table}.{key}")]
        assert ours and all(n == line for _, n, _ in ours), err.problems
        assert getattr(bounds, bound).reason in str(err)
        assert f"edge.toml:{line}: {table}.{key}" in str(err)

    def test_a_lever_intensity_of_1e308_is_refused_at_its_line(self) -> None:
        text = TEXT.replace("intensity_max = 2.0", "intensity_max = 1e308", 1)
        err = refused(text, "edge.toml")
        ((key, line, message),) = err.problems
        assert key.startswith("levers.") and key.endswith("intensity_max")
        assert line == line_of(text, "intensity_max = 1e308")
        assert "at most 1e+15" in message

    def test_a_lever_whose_largest_change_overflows_is_refused(self) -> None:
        text = TEXT.replace("intensity_max = 2.0", "intensity_max = 1e6", 1)
        assert parse_scenario(text, "ok.toml")  # the intensity bound itself
        big = text.replace("intensity_max = 1e6", "intensity_max = 1000001", 1)
        assert "intensity_max: expected at most 1e+06" in str(refused(big))

    @pytest.mark.parametrize(
        ("table", "key", "low", "high"),
        [
            ("attrition", "exchange_ratio", 1e-6, 1e6),
            ("attrition", "fire_exponent", 0.0, 10.0),
            ("territory", "power_elasticity", 0.0, 10.0),
            ("sides.A.forces", "manpower_exponent", 0.0, 10.0),
            ("sides.A.forces", "manpower", 1.0, None),
            ("sides.A.economy", "commodity_volatility", 0.0, 1.0),
            ("sides.A.economy", "exhaustion_pain", 0.0, 20.0),
            ("leaders.A", "optimism", -10.0, 10.0),
            ("leaders.A", "pain_hazard", 0.0, 20.0),
            ("leaders.A", "shock_months", None, 120.0),
            ("leaders.A.reasons", "veterans", 0.0, 0.4),
            ("leaders.A.reasons", "legitimacy", 0.0, 20.0),
            ("ceasefire", "record_factor", 0.0, 1000.0),
        ],
    )
    def test_each_bound_is_inclusive_and_refuses_beyond(
        self, table: str, key: str, low: float | None, high: float | None
    ) -> None:
        base = TEXT
        if key == "manpower":  # a force of 1 person: no recruits, or the monthly growth bound refuses it
            base = with_line("recruitment", "0", table)
        for edge, beyond in ((low, -1), (high, +1)):
            if edge is None:
                continue
            sc = parse_scenario(with_line(key, repr(edge), table, base), "at.toml")  # the bound itself loads
            assert sc is not None
            step = max(abs(edge) * 1e-9, 1e-12)
            err = refused(with_line(key, repr(edge + beyond * step), table, base))
            assert any(k.startswith(f"{table}.{key}") for k, _, _ in err.problems), err.problems
            assert "must lie in" in str(err) or "at most" in str(err)

    def test_prior_broken_and_duplicate_aims(self) -> None:
        err = refused(TEXT.replace("prior_broken = 2", "prior_broken = 1000000000"))
        assert "ceasefire.prior_broken: expected at most 100" in str(err) and "1000^100" in str(err)
        assert parse_scenario(TEXT.replace("prior_broken = 2", "prior_broken = 100"), "ok.toml")
        twice = TEXT.replace('grants = ["crimea", "keep-donbas"', 'grants = ["crimea", "crimea", "keep-donbas"', 1)
        err = refused(twice)
        ((key, _, message),) = err.problems
        assert key.startswith("terms.") and key.endswith(".grants") and "'crimea' appears twice" in message

    @pytest.mark.parametrize(
        ("table", "key", "value"),
        [
            ("attrition", "exchange_ratio", "1e-6"),
            ("attrition", "exchange_ratio", "1e6"),
            ("attrition", "fire_exponent", "10"),
            ("sides.B.forces", "aid_level", "300"),  # the most the monthly growth bound lets B's aid be
            ("leaders.A", "optimism", "10"),
            ("sides.A.economy", "commodity_volatility", "1"),
            ("leaders.A.reasons", "need_for_victory", "0.4"),
            ("leaders.A", "shock_months", "120"),
        ],
    )
    def test_at_the_bound_a_run_is_finite(self, table: str, key: str, value: str) -> None:
        """One parameter at its bound, the others the flagship's: a 60-month run stays finite."""
        from ceasefire.run.experiment import RunSpec, run

        sc = parse_scenario(with_line(key, value, table).replace("no_deal_at_start = true", ""), "at.toml")
        with np.errstate(all="ignore"):
            result = run(sc, RunSpec.from_scenario(sc, samples=2, paths=4, horizon=60, seed=3))
        o = result.outcomes
        for side in ("A", "B"):
            assert np.isfinite(o.casualties_total[side]).all() and np.isfinite(o.casualties_to_settlement[side]).all()
        assert np.isfinite(o.held_at_end).all()


# -- 3. claims about months the run never simulated -----------------------------------------------


class TestBeyondTheHorizon:
    def test_the_verdict_of_a_month_past_the_horizon(self) -> None:
        from ceasefire.analysis.claims import _verdict
        from ceasefire.scenario.query import parse_query

        inf = math.inf
        longer = parse_query("median settlement month > 24")
        # no settlement within 6 months: the month lies past 5, which does not decide "> 24"
        assert _verdict(longer, inf, inf, inf, horizon=6) == "undecided"
        assert _verdict(longer, inf, inf, inf, horizon=60) == "supported"  # past 59 is > 24
        assert _verdict(parse_query("median settlement month > 3"), inf, inf, inf, horizon=6) == "supported"
        assert _verdict(parse_query("median settlement month < 6"), inf, inf, inf, horizon=6) == "contradicted"
        assert _verdict(parse_query("median settlement month < 7"), inf, inf, inf, horizon=6) == "undecided"
        window = parse_query("P(settlement within 12 months) < 0.25")
        assert _verdict(window, 0.0, 0.0, 0.0, horizon=6) == "undecided"  # what 6 months say of 12
        assert _verdict(window, 0.0, 0.0, 0.0, horizon=12) == "supported"

    def test_claims_at_horizon_6_decide_nothing_beyond_it(self) -> None:
        from ceasefire.analysis.claims import check_claims
        from ceasefire.scenario.load import load_scenario
        from ceasefire.scenario.query import parse_query

        sc = load_scenario(FLAGSHIP)
        report = check_claims(sc, samples=4, paths=4, horizon=6, resamples=50)
        beyond = 0
        for c in report.claims:
            q = parse_query(c.query)
            window = 0 if q.quantity.kind == "holds" else q.quantity.months or 0  # survival is computed, not simulated
            if window > 6 or (q.quantity.kind in ("settle_month", "take_month") and q.threshold >= 6):
                beyond += 1
                assert c.verdict == "undecided", (c.id, c.verdict, c.display)
        assert beyond >= 10
        for c in report.claims:
            if "beyond the horizon" in (c.reason or ""):
                assert c.verdict == "undecided" and c.estimate is None

    def test_summary_leaves_out_windows_past_the_horizon(self) -> None:
        from ceasefire.run.experiment import RunSpec, run
        from ceasefire.run.summary import summarize
        from ceasefire.scenario.load import load_scenario

        sc = load_scenario(FLAGSHIP)
        summary = summarize(run(sc, RunSpec.from_scenario(sc, samples=2, paths=4, horizon=6, policy="myopic")))
        assert set(summary.settle_within) == {"6 months", "horizon"}

    @pytest.mark.parametrize(
        "args",
        [
            ["levers", FLAGSHIP, "--horizon", "12", "-q"],
            ["levers", FLAGSHIP, "--horizon", "6", "--target", "0.5", "--within", "12", "-q"],
        ],
    )
    def test_levers_refuse_a_horizon_shorter_than_their_windows(self, args: list[str]) -> None:
        out = cli_error(runner.invoke(app, args))
        assert "beyond the horizon" in out


# -- 4. output targets ------------------------------------------------------------------------------


def _run_json(target: str | Path, *extra: str) -> Any:
    return runner.invoke(app, ["run", FLAGSHIP, *TINY, "--no-compare-beliefs", "--json", str(target), *extra])


class TestOutputTargets:
    def test_a_device_is_written_in_place_not_replaced(self, tmp_path: Path) -> None:
        device = tmp_path / "null"
        try:
            os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
        except PermissionError:
            pytest.skip("creating a device node needs root (CI runs as root); the pipe test covers the class")
        assert _run_json(device).exit_code == 0
        assert stat.S_ISCHR(device.stat().st_mode)
        assert not list(tmp_path.glob(".null.*"))

    def test_a_pipe_is_streamed_not_replaced(self, tmp_path: Path) -> None:
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        reader.start()
        result = _run_json(fifo)
        reader.join(30)
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        doc = json.loads(got[0])
        assert doc["manifest"]["samples"] == 2

    def test_a_symlink_is_followed(self, tmp_path: Path) -> None:
        real = tmp_path / "real.json"
        real.write_text("old", encoding="utf-8")
        link = tmp_path / "link.json"
        link.symlink_to(real)
        assert _run_json(link).exit_code == 0
        assert link.is_symlink() and json.loads(real.read_text())["manifest"]["paths"] == 4
        dangling = tmp_path / "dangling.json"
        dangling.symlink_to(tmp_path / "made.json")
        assert _run_json(dangling).exit_code == 0
        assert dangling.is_symlink() and (tmp_path / "made.json").is_file()

    def test_a_missing_folder_is_an_error_before_any_work(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ceasefire.run import experiment

        def never(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the run started before its output was checked")

        monkeypatch.setattr(experiment, "run", never)
        target = tmp_path / "no" / "such" / "r.json"
        out = cli_error(_run_json(target))
        assert "does not exist" in out and "--mkdir" in out
        assert not (tmp_path / "no").exists()
        monkeypatch.undo()
        assert _run_json(target, "--mkdir").exit_code == 0 and target.is_file()

    def test_a_folder_as_target_is_refused(self, tmp_path: Path) -> None:
        out = cli_error(_run_json(tmp_path))
        assert "is a folder" in out

    def test_dash_streams_parquet_to_stdout(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = runner.invoke(app, ["run", FLAGSHIP, *TINY, "--no-compare-beliefs", "--parquet", "-"])
        assert result.exit_code == 0, result.output
        assert not Path("-").exists()  # not a file named "-"
        blob = result.stdout_bytes
        start = blob.index(b"PAR1")
        (tmp_path / "out.parquet").write_bytes(blob[start : blob.rindex(b"PAR1") + 4])
        assert pq.read_table(tmp_path / "out.parquet").num_rows == 8

    def test_an_existing_file_keeps_its_permissions(self, tmp_path: Path) -> None:
        from ceasefire.run.store import write_json

        path = tmp_path / "kept.json"
        path.write_text("{}", encoding="utf-8")
        path.chmod(0o640)
        write_json(path, {"a": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o640 and json.loads(path.read_text()) == {"a": 1}


# -- 5. sizes and memory ------------------------------------------------------------------------------


class TestSizes:
    def test_an_unbounded_population_is_refused_before_any_work(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from ceasefire.analysis import price

        monkeypatch.setattr(price, "price_of_peace", lambda *a, **k: pytest.fail("the search started"))
        out = cli_error(runner.invoke(app, ["levers", FLAGSHIP, "--target", "0.5", "--popsize", "1000000000"]))
        assert "--popsize" in out
        out = cli_error(runner.invoke(app, ["levers", FLAGSHIP, "--target", "0.5", "--maxiter", "1000000000"]))
        assert "--maxiter" in out

    def test_a_run_that_cannot_fit_is_refused_with_the_estimate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from ceasefire.run import budget, experiment

        monkeypatch.setattr(budget, "available_bytes", lambda: 8 * 2**30)
        monkeypatch.setattr(experiment, "run", lambda *a, **k: pytest.fail("the run started"))
        args = ["run", FLAGSHIP, "--samples", "1000000", "--paths", "10000000", "--horizon", "600", "-q"]
        out = " ".join(cli_error(runner.invoke(app, args)).split())
        assert "not enough memory" in out and "GiB" in out and "8.0 GiB is available" in out
        found = re.search(r"at most ([\d,]+) samples? x ([\d,]+) paths", out)
        assert found is not None, out
        samples, paths = (int(g.replace(",", "")) for g in found.groups())
        kw = {"runs": 2, "workers": os.cpu_count() or 1}
        assert budget.run_bytes(samples, paths, 600, **kw) <= 8 * 2**30  # the size named fits
        assert budget.run_bytes(samples, paths + 1, 600, **kw) > 8 * 2**30 or paths == 10_000_000
        assert budget.run_bytes(samples + 1, paths, 600, **kw) > 8 * 2**30

    def test_the_api_checks_sizes_and_memory_before_a_run(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import ceasefire
        from ceasefire.run import budget, experiment

        sc = ceasefire.load_scenario(FLAGSHIP)
        monkeypatch.setattr(experiment, "run", lambda *a, **k: pytest.fail("the run started"))
        with pytest.raises(ceasefire.CeasefireError, match="seed"):
            ceasefire.simulate(sc, ceasefire.RunSpec.from_scenario(sc, seed=2**63))
        monkeypatch.setattr(budget, "available_bytes", lambda: 2**30)
        big = ceasefire.RunSpec.from_scenario(sc, samples=10_000, paths=10_000)
        with pytest.raises(ceasefire.CeasefireError, match="not enough memory"):
            ceasefire.simulate(sc, big)

    def test_a_sweep_that_cannot_fit_is_refused(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        from ceasefire.run import budget, sweep

        monkeypatch.setattr(budget, "available_bytes", lambda: 2**30)
        monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("the sweep started"))
        args = ["sensitivity", FLAGSHIP, "-N", "1048576", "--paths", "100", "-q"]
        out = " ".join(cli_error(runner.invoke(app, args)).split())
        assert "not enough memory" in out and "points" in out and "at most" in out
        args = ["sweep", FLAGSHIP, "--out", str(tmp_path / "s"), "-n", "1048576", "--paths", "4096", "-q"]
        assert "not enough memory" in cli_error(runner.invoke(app, args))

    def test_the_estimate_grows_with_every_size(self) -> None:
        from ceasefire.run.budget import run_bytes

        base = run_bytes(100, 100, 60)
        assert run_bytes(200, 100, 60) > base and run_bytes(100, 200, 60) > base and run_bytes(100, 100, 120) > base
        assert run_bytes(100, 100, 60, json=True) > base and run_bytes(100, 100, 60, runs=2) > base

    @pytest.mark.parametrize(
        "command",
        [  # each at a tiny size, so that a command accepting the seed ends soon
            ["run", FLAGSHIP, *TINY],
            ["explain", FLAGSHIP, "--samples", "2", "--paths", "4", "--horizon", "6", "-q"],
            ["claims", FLAGSHIP, *TINY],
            ["levers", FLAGSHIP, "--samples", "2", "--paths", "4", "--horizon", "24", "--only", "carrot", "-q"],
            ["sweep", FLAGSHIP, "--out", "x", "-n", "2", "--paths", "2", "--horizon", "6", "--workers", "1", "-q"],
            [
                "sensitivity",
                FLAGSHIP,
                "-N",
                "2",
                "--paths",
                "2",
                "--horizon",
                "12",
                "--output",
                "casualties_A",
                "--workers",
                "1",
                "-q",
            ],
            ["discover", FLAGSHIP, "--where", "p_settle_12 < 0.5", "-n", "4", "--paths", "2", "--workers", "1", "-q"],
            ["report", FLAGSHIP, "--quick", "--samples", "2", "--paths", "4", "--horizon", "24", "-q", "-o", "-"],
        ],
    )
    def test_a_seed_beyond_64_bits_is_refused_by_every_command(
        self, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)  # the sweep's folder, should it start
        cli_error(runner.invoke(app, [*command, "--seed", str(2**63)]))

    def test_a_where_of_a_thousand_ands_is_refused(self) -> None:
        where = " and ".join(["p_settle_12 < 0.5"] * 1000)
        out = cli_error(runner.invoke(app, ["discover", FLAGSHIP, "--where", where, "-n", "4", "--paths", "2"]))
        assert "at most" in out and len(out) < 2000
        where = " and ".join(["p_settle_6<1"] * 102)  # 101 of them
        out = cli_error(runner.invoke(app, ["discover", FLAGSHIP, "--where", where, "-n", "4", "--paths", "2"]))
        assert "at most 100" in out


# -- 6. the smaller ones -------------------------------------------------------------------------------


def test_a_long_query_is_not_echoed_whole() -> None:
    long_query = "P(settlement within 12 months) < 0.25 " + "x" * 100_000
    text = TEXT.replace('query = "P(settlement within 12 months) < 0.25"', f'query = "{long_query}"', 1)
    assert text != TEXT
    err = refused(text)
    assert len(str(err)) < 2000 and "claims." in str(err)


def test_error_lines_are_never_wrapped(tmp_path: Path) -> None:
    path = tmp_path / ("a-rather-long-folder-name-" * 3) / "file.toml"
    path.parent.mkdir()
    path.write_text(with_line("fire_exponent", "1000", "attrition"), encoding="utf-8")
    out = cli_error(runner.invoke(app, ["validate", str(path)]))
    line = line_of(path.read_text(), "fire_exponent = ")
    assert any(f"{path}:{line}: attrition.fire_exponent" in row for row in out.splitlines()), out


def test_serve_refuses_a_bad_host_before_announcing_a_url() -> None:
    out = cli_error(runner.invoke(app, ["serve", "--host", "999.1.1.1"]))
    assert "999.1.1.1" in out and "http://" not in out


def test_sweep_parquet_files_hold_null_not_nan_for_undefined_metrics() -> None:
    """``nan_as_null`` is how every Parquet table is to be written (the run's per-path file does already)."""
    from ceasefire.run.store import nan_as_null

    table = nan_as_null({"row": np.arange(3), "p_holds_1y": np.array([0.5, np.nan, 1.0])})
    column = table.column("p_holds_1y")
    assert column.null_count == 1 and not any(v is not None and math.isnan(v) for v in column.to_pylist())


def test_sweep_parts_hold_no_nan(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", FLAGSHIP, "-n", "3", "--paths", "2", "--horizon", "6", "--policy", "myopic", "--workers", "1"]
    assert runner.invoke(app, [*args, "--out", str(out), "-q"]).exit_code == 0
    for part in [*out.glob("part-*.parquet"), out / "results.parquet"]:
        for column in pq.read_table(part).columns:
            values = column.to_pylist()
            assert not any(isinstance(v, float) and math.isnan(v) for v in values), part.name
