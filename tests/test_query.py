"""The claims query language: every form parses to the right quantity; errors point at the column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import ScenarioError
from ceasefire.scenario.load import parse_scenario
from ceasefire.scenario.query import LeverSetting, Quantity, QueryError, parse_query

DATA = Path(__file__).parent / "data"
CLAIMS_TOY = (DATA / "claims-toy.toml").read_text(encoding="utf-8")

FORMS = [
    ("P(settlement within 12 months) < 0.2", Quantity(kind="settle", months=12), "<", 0.2),
    (
        'P(settlement on "freeze", "status-quo" within 2 years) <= 0.1',
        Quantity(kind="settle", months=24, terms=("freeze", "status-quo")),
        "<=",
        0.1,
    ),
    ("P(leader B removed within 1 year) > 0.05", Quantity(kind="removed", months=12, side="B"), ">", 0.05),
    ("P(ceasefire holds 5 years) >= 0.5", Quantity(kind="holds", months=60), ">=", 0.5),
    ('P(objective "east" taken within 6 months) < 0.5', Quantity(kind="taken", months=6, objective="east"), "<", 0.5),
    ("median settlement month > 24", Quantity(kind="settle_month", stat="median"), ">", 24.0),
    ("mean settlement month > 24", Quantity(kind="settle_month", stat="mean", q=float("nan")), ">", 24.0),
    ("quantile(0.9) settlement month < 48", Quantity(kind="settle_month", stat="quantile", q=0.9), "<", 48.0),
    (
        "median casualties of A until settlement > 400_000",
        Quantity(kind="casualties", stat="median", side="A", scope="until_settlement"),
        ">",
        400000.0,
    ),
    (
        "mean casualties of B over horizon < 1e6",
        Quantity(kind="casualties", stat="mean", q=float("nan"), side="B", scope="over_horizon"),
        "<",
        1e6,
    ),
    (
        "quantile(0.25) casualties of A during 12 months of war <= 365250",
        Quantity(kind="casualties", stat="quantile", q=0.25, months=12, side="A", scope="during_war"),
        "<=",
        365250.0,
    ),
    (
        'median casualties of A until objective "east" taken > 400000',
        Quantity(kind="casualties", stat="median", side="A", scope="until_objective", objective="east"),
        ">",
        400000.0,
    ),
    (
        'quantile(0.75) months to take objective "east" >= 11',
        Quantity(kind="take_month", stat="quantile", q=0.75, objective="east"),
        ">=",
        11.0,
    ),
    (
        "P(settlement on terms accepted by B's public within 2 years) > 0.1",
        Quantity(kind="settle", months=24, accepted_by="B"),
        ">",
        0.1,
    ),
    ("P(ceasefire broken within 3 years) > 0.5", Quantity(kind="broken", months=36), ">", 0.5),
    ("P(ceasefire broken by A within 1 year) <= 0.2", Quantity(kind="broken", months=12, side="A"), "<=", 0.2),
    (
        "P(leader A removed within 24 months if war fought on) < 0.3",
        Quantity(kind="removed", months=24, side="A", world="war"),
        "<",
        0.3,
    ),
    (
        'P(leader B removed within 2 years if settled on "freeze") < 0.3',
        Quantity(kind="removed", months=24, side="B", world="settled", settled_on="freeze"),
        "<",
        0.3,
    ),
]


def same(a: Quantity, b: Quantity) -> bool:
    fields = ("kind", "stat", "months", "terms", "side", "scope", "objective", "accepted_by", "world", "settled_on")
    return all(getattr(a, f) == getattr(b, f) for f in fields) and (a.q == b.q or (a.q != a.q and b.q != b.q))


@pytest.mark.parametrize(("text", "quantity", "op", "threshold"), FORMS)
def test_every_form_parses(text: str, quantity: Quantity, op: str, threshold: float) -> None:
    q = parse_query(text)
    assert same(q.quantity, quantity), q.quantity
    assert (q.op, q.threshold, q.left.levers, q.is_lever) == (op, threshold, (), False)
    assert q.quantity.describe()
    # whitespace is free
    assert parse_query("  " + text.replace(" ", "   ") + " ").quantity == q.quantity


def test_lever_claims() -> None:
    q = parse_query('lever "more-aid" at 2 raises P(settlement within 12 months) by at least 0.1')
    assert (q.left.levers, q.left.direction, q.op, q.threshold) == ((LeverSetting("more-aid", 2.0),), 1, ">=", 0.1)
    q = parse_query('levers "a" and "b" at 0.5 lowers median settlement month by at most 3')
    both = (LeverSetting("a"), LeverSetting("b", 0.5))
    assert (q.left.levers, q.left.direction, q.op, q.threshold) == (both, -1, "<=", 3.0)
    assert q.is_lever
    q = parse_query(
        'lever "a" at 2 with credibility 0.1 and "b" with credibility 1 raises P(settlement within 1 year) by at most 0'
    )
    assert q.left.levers == (LeverSetting("a", 2.0, 0.1), LeverSetting("b", 1.0, 1.0))
    assert q.columns["0:credibility:a"] == 33 and q.columns["0:intensity:a"] == 14


def test_comparison_of_two_quantities() -> None:
    text = (
        'P(leader A removed within 24 months if settled on "freeze") > '
        "2 * P(leader A removed within 24 months if war fought on)"
    )
    q = parse_query(text)
    assert q.is_comparison and q.right is not None and (q.op, q.threshold) == (">", 0.0)
    assert (q.left.quantity.world, q.left.quantity.settled_on, q.left.factor) == ("settled", "freeze", 1.0)
    assert (q.right.quantity.world, q.right.factor) == ("war", 2.0)
    assert not q.is_lever
    assert q.columns["terms:freeze"] == text.index('"freeze"') + 1
    effects = parse_query(
        'effect of lever "s" with credibility 1 on P(settlement within 2 years) > '
        'effect of lever "s" with credibility 0.1 on P(settlement within 2 years)'
    )
    assert effects.is_lever and effects.right is not None
    assert [o.levers[0].credibility for o in effects.operands] == [1.0, 0.1]
    assert effects.settings() == ((LeverSetting("s", 1.0, 1.0),), (LeverSetting("s", 1.0, 0.1),))
    alone = parse_query('effect of levers "a" and "b" at 2 on median settlement month >= 3')
    assert alone.left.levers == (LeverSetting("a"), LeverSetting("b", 2.0)) and alone.left.direction == 1


def test_conditional_probability_and_range() -> None:
    q = parse_query('P(settlement on "x" within 5 years | settlement within 5 years) > 0.5')
    assert q.quantity.terms == ("x",) and q.quantity.given == Quantity(kind="settle", months=60)
    assert "|" in q.quantity.describe()
    r = parse_query('median casualties of A until objective "east" taken between 350_000 and 650000')
    assert (r.op, r.threshold, r.high) == ("between", 350000.0, 650000.0)


@given(st.integers(1, 600), st.floats(0, 1, allow_nan=False))
def test_numbers_round_trip(months: int, p: float) -> None:
    q = parse_query(f"P(settlement within {months} months) < {p!r}")
    assert q.quantity.months == months and q.threshold == p


MALFORMED = [
    ("P(settlement within x months) < 0.2", 21, "expected a number, got 'x'"),
    ("P(settlement within 12 months) = 0.2", 32, "got '='"),
    ("P(settlement in 12 months) < 0.2", 14, "expected 'on' or 'within', got 'in'"),
    ("median casualties of C over horizon > 3", 22, "expected a side, A or B, got 'C'"),
    ("lever carrot raises P(settlement within 12 months) by at least 0.1", 7, "ids are written in double quotes"),
    ("P(settlement within 12 months)", 31, "the query ends early"),
    ("P(settlement within 12 months) < 1.5", 34, "a probability is compared with a number in [0, 1]"),
    ("quantile(1.5) settlement month > 3", 10, "strictly between 0 and 1"),
    ("P(settlement within 0 months) < 0.1", 21, "positive whole number of months"),
    ("P(settlement within 1.5 months) < 0.1", 21, "positive whole number of months"),
    ('mean casualties of A until objective "x" taken > 3', 1, "use median or quantile"),
    ('mean months to take objective "x" > 3', 1, "use median or quantile"),
    ('lever "a" and "a" raises P(settlement within 1 month) by at least 0.1', 15, "named twice"),
    ('lever "a" raises P(settlement within 1 month) by at least 2', 59, "at most 1"),
    ("", 1, "empty"),
    ("median settlement month > 24; import os", 29, "unexpected character ';'"),
    ("P(settlement within 1 year) > median settlement month", 31, "probability is compared with months"),
    ('P(settlement within 1 year) > effect of lever "a" on P(settlement within 1 year)', 31, "a lever's effect"),
    ("P(settlement within 1 year) > 0 * P(leader A removed within 1 year)", 31, "positive number"),
    ("P(ceasefire holds 1 year | settlement within 1 year) > 0.5", 26, "conditional probability relates"),
    (
        "P(settlement within 1 year | leader A removed within 1 year if war fought on) > 0.5",
        29,
        "conditional probability relates",
    ),
    ('lever "a" with credibility 1.5 raises P(settlement within 1 year) by at least 0', 28, "credibility is a"),
    ("median settlement month between 30 and 20", 40, "upper end 20 is below its lower end 30"),
    ("P(settlement within 1 year) between 0.5 and 2", 45, "numbers in [0, 1]"),
    ('effect of lever "a" on P(settlement within 1 year) > 1.5', 54, "change of a probability lies in [-1, 1]"),
    ("P(settlement on terms accepted by C's public within 1 year) > 0", 35, "a side, A or B"),
    ("P(leader A removed within 1 year if settled on freeze) > 0", 48, "ids are written in double quotes"),
]


@pytest.mark.parametrize(("text", "column", "message"), MALFORMED)
def test_malformed_queries_point_at_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.column == column, str(info.value)
    assert message in str(info.value)
    # the caret sits under the column
    lines = str(info.value).splitlines()
    if text:
        assert lines[2].index("^") - lines[1].index(text[0]) == column - 1


def _with_claim(query: str, extra: str = "") -> tuple[str, int]:
    text = CLAIMS_TOY + f'\n[[claims]]\nid = "bad"\nsource = "test"\nasserts = "x"\n{extra}query = {query!r}\n'
    line = len(text.splitlines())
    return text.replace(f"query = {query!r}", "query = " + '"' + query.replace('"', '\\"') + '"'), line


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("P(settlement within x months) < 0.2", "column 21: expected a number"),
        (
            'P(settlement on "nope" within 12 months) < 0.2',
            "column 17: unknown terms 'nope' (terms: freeze, status-quo)",
        ),
        ('lever "nope" raises P(settlement within 12 months) by at least 0.1', "column 7: unknown lever 'nope'"),
        (
            'lever "more-aid" at 3 raises P(settlement within 12 months) by at least 0.1',
            "column 21: lever 'more-aid': intensity must lie in (0, 2]",
        ),
        ('median months to take objective "west" > 3', "column 33: unknown objective 'west'"),
        (
            'P(leader A removed within 1 year if settled on "nope") > 0',
            "column 48: unknown terms 'nope' (terms: freeze, status-quo)",
        ),
        (
            'effect of lever "more-aid" on P(settlement within 1 year) > effect of lever "nope" on '
            "P(settlement within 1 year)",
            "column 77: unknown lever 'nope'",
        ),
        (
            "P(settlement on terms accepted by B's public within 1 year) > 0",
            "column 35: terms 'status-quo', 'freeze' carry no poll of B's public (rejected_by.B)",
        ),
    ],
)
def test_scenario_load_reports_claim_file_line_and_column(query: str, message: str) -> None:
    text, line = _with_claim(query)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "claims.toml")
    key, where, expected = info.value.problems[0]
    assert key == "claims.bad.query"
    assert where == line
    assert message in expected
    assert f"claims.toml:{line}: claims.bad.query: " in str(info.value)


def test_claim_source_and_ids_checked() -> None:
    text = (
        CLAIMS_TOY + '\n[[claims]]\nid = "x"\nsource = "nobody"\nasserts = "x"\nquery = "median settlement month > 1"\n'
    )
    with pytest.raises(ScenarioError, match="source 'nobody' is not in \\[sources\\]"):
        parse_scenario(text, "claims.toml")
    text = (
        CLAIMS_TOY
        + '\n[[claims]]\nid = "long-war"\nsource = "test"\nasserts = "x"\nquery = "median settlement month > 1"\n'
    )
    with pytest.raises(ScenarioError, match="id 'long-war' appears twice"):
        parse_scenario(text, "claims.toml")


def test_validate_command_catches_a_bad_claim(tmp_path: Path) -> None:
    text, line = _with_claim("P(settlement within 12 months) < 2")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(app, ["validate", str(bad)])
    assert out.exit_code == 2
    assert f"bad.toml:{line}" in out.output and "column 34" in out.output
