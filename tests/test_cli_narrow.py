"""The command line at 80 columns and for newcomers: ids kept whole, `run` first, `show` and `new`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from ceasefire.cli import HELP, app
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import Scenario

runner = CliRunner()
FLAGSHIP = "russia-ukraine-2026"
TINY = ["--samples", "2", "--paths", "4", "--horizon", "12"]
NARROW = {"COLUMNS": "80", "LINES": "50"}
_EDGE = "()[]{},;:'\"“”"


def ids_of(sc: Scenario) -> set[str]:
    """Every id a user may type or search for: levers, terms, aims, objectives, factors, claims, sources."""
    ids = {lv.id for lv in sc.levers} | {t.id for t in sc.terms} | {o.id for o in sc.objectives}
    ids |= {f.id for f in sc.factors} | {c.id for c in sc.claims} | set(sc.sources)
    ids |= {a.id for s in ("A", "B") for a in sc.leaders[s].aims}  # type: ignore[index]
    return ids


def broken_ids(output: str, ids: set[str]) -> list[str]:
    """Pieces of an id printed apart: a word that is a proper prefix or suffix of an id and not an id.

    A hyphenated id broken anywhere leaves a piece with a hyphen on one side of the break; pieces
    of ids without hyphens are counted from three characters.
    """
    words = {w.strip(_EDGE) for w in re.split(r"[\s│┃]+", output)} - {""}
    found = []
    for word in words - ids:
        for ident in ids:
            if word == ident or len(word) >= len(ident):
                continue
            piece = ident.startswith(word) or ident.endswith(word)
            if piece and ("-" in word or ("-" not in ident and len(word) >= 3)):
                found.append(f"{word!r} of {ident!r}")
    return found


def widest(output: str) -> int:
    return max(Console().measure(line).maximum if line else 0 for line in output.splitlines())


def test_the_check_finds_a_broken_id() -> None:
    ids = {"secondary-oil-sanctions", "carrot"}
    assert broken_ids("│ secondary-oil-sanc │\n│ tions │", ids) == ["'secondary-oil-sanc' of 'secondary-oil-sanctions'"]
    assert broken_ids("carr\not", ids) == ["'carr' of 'carrot'"]
    assert broken_ids("(secondary-oil-sanctions) carrot, no lever", ids) == []


def test_levers_at_80_columns_keep_every_lever_id_whole() -> None:
    sc = load_scenario(FLAGSHIP)
    # lever effects report settlement within 24 months: a shorter horizon is refused (issue 32)
    result = runner.invoke(app, ["levers", FLAGSHIP, *TINY, "--horizon", "24", "--no-certain"], env=NARROW)
    assert result.exit_code == 0, result.output
    assert broken_ids(result.stdout, ids_of(sc)) == []
    for lv in sc.levers:  # three intensities in each of the two tables
        assert len(re.findall(rf"^ {re.escape(lv.id)} ", result.stdout, flags=re.M)) == 6, lv.id
    assert widest(result.stdout) <= 80
    assert "nan" not in result.stdout


def test_claims_at_80_columns_keep_every_id_whole() -> None:
    sc = load_scenario(FLAGSHIP)
    result = runner.invoke(app, ["claims", FLAGSHIP, *TINY], env=NARROW)
    assert result.exit_code == 0, result.output
    assert broken_ids(result.stdout, ids_of(sc)) == []
    words = set(re.split(r"\s+", result.stdout))
    assert {c.id for c in sc.claims} <= words
    assert {"rest-of-donetsk", "russian-demands", "freeze-guarantees"} <= words  # ids inside the quantities
    assert widest(result.stdout) <= 80
    assert "…" not in result.stdout  # nothing cut short


def test_run_comes_first_in_the_help() -> None:
    result = runner.invoke(app, ["--help"], env=NARROW)
    assert result.exit_code == 0
    listed = re.findall(r"^│ (\w+) ", result.stdout, flags=re.M)
    assert listed[0] == "run"
    assert listed == [name for name in HELP if name in listed] and set(listed) == set(HELP)
    assert widest(result.stdout) <= 80


def test_show_lists_what_a_scenario_holds_with_sources() -> None:
    sc = load_scenario(FLAGSHIP)
    result = runner.invoke(app, ["show", FLAGSHIP], env=NARROW)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert broken_ids(out, ids_of(sc)) == []
    words = {w.strip(_EDGE) for w in re.split(r"\s+", out)}
    assert ids_of(sc) <= words
    for heading in ("Sides and their leaders", "Terms", "Levers", "Factors", "Claims", "Sources"):
        assert heading in out
    for s in ("A", "B"):
        assert sc.leaders[s].name in out  # type: ignore[index]
    lever = sc.levers[0]
    row = out[out.index(f" {lever.id} ") :].split("\n\n")[0]
    assert lever.target in row and lever.per_unit.source in row
    assert widest(out) <= 80


def test_show_of_a_missing_scenario_is_a_clear_error() -> None:
    result = runner.invoke(app, ["show", "no-such-war"])
    assert result.exit_code == 2 and "no shipped scenario" in result.output


def test_new_writes_a_template_that_validates_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(app, ["new", "x"])
    assert made.exit_code == 0, made.output
    text = (tmp_path / "x.toml").read_text(encoding="utf-8")
    sc = load_scenario(tmp_path / "x.toml")
    assert sc.scenario.id == "x"
    assert len(sc.sides) == 2 and len(sc.terms) == 2 and len(sc.levers) == 1 and len(sc.claims) == 1
    assert sum(line.lstrip().startswith("#") or " # " in line for line in text.splitlines()) >= 30  # commented
    ran = runner.invoke(app, ["run", "x.toml", "--json", "-", "-q"])
    assert ran.exit_code == 0, ran.output
    doc = json.loads(ran.stdout)
    assert doc["manifest"]["scenario"] == "x" and doc["summary"]["samples"] == sc.run.samples
    assert 0.0 < doc["summary"]["settle_within"]["horizon"]["p"] < 1.0  # a template where something happens
    claims = runner.invoke(app, ["claims", "x.toml", "--samples", "4", "--paths", "10", "--json", "-", "-q"])
    assert claims.exit_code == 0, claims.output
    assert json.loads(claims.stdout)["claims"][0]["id"] == "no-quick-deal"


def test_new_does_not_overwrite_and_refuses_a_bad_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text("keep me", encoding="utf-8")
    again = runner.invoke(app, ["new", "mine.toml"])
    assert again.exit_code == 2 and "already exists" in again.output and "--force" in again.output
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8") == "keep me"
    forced = runner.invoke(app, ["new", "mine", "--force"])
    assert forced.exit_code == 0 and load_scenario(tmp_path / "mine.toml").scenario.id == "mine"
    bad = runner.invoke(app, ["new", "My War"])
    assert bad.exit_code == 2 and "lowercase letters" in bad.output
    assert not (tmp_path / "My War.toml").exists()


def test_a_progress_bar_without_a_total_shows_no_count() -> None:
    from ceasefire.cli._app import _Count

    bar, count = Progress(), _Count("coalitions")
    task = bar.add_task("explaining", total=None)
    assert str(count(bar.tasks[task])) == ""  # type: ignore[operator]
    bar.update(task, completed=3, total=16)
    assert str(count(bar.tasks[task])) == "3/16 coalitions"  # type: ignore[operator]


def test_discover_without_ema_workbench_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ema_workbench", None)  # as if the 'discover' extra were not installed
    result = runner.invoke(app, ["discover", FLAGSHIP, "--where", "p_settle_36 < 0.5", "-n", "4", "--paths", "2"])
    assert result.exit_code == 2
    assert "pip install 'ceasefire[discover]'" in " ".join(result.output.split())
    assert "Traceback" not in result.output
