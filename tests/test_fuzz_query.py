"""Fuzzing the claims query parser: a query parses, or raises one QueryError pointing at a column.

Nothing else may escape the parser (no lark exception, no OverflowError), whatever the text;
well-formed queries round-trip their numbers; out-of-range numbers are refused at their column;
a bad query inside a scenario file is a ScenarioError naming the file, the key and the line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ceasefire.errors import ScenarioError
from ceasefire.scenario.load import parse_scenario
from ceasefire.scenario.query import MAX_MONTHS, Query, QueryError, parse_query

EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_EXAMPLES", "50"))
"""Examples per scenario-level fuzz test; the parser alone gets four times as many (it is fast)."""
FUZZ = settings(max_examples=4 * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLAIMS_TOY = (Path(__file__).parent / "data" / "claims-toy.toml").read_text(encoding="utf-8")

WORDS = ["P", "(", ")", "settlement", "within", "months", "month", "years", "year", "on", ",", "leader", "A", "B",
         "removed", "ceasefire", "holds", "objective", "taken", "median", "mean", "quantile", "casualties", "of",
         "until", "over", "horizon", "during", "war", "to", "take", "lever", "levers", "at", "and", "raises", "lowers",
         "by", "least", "most", "<", "<=", ">", ">=", "=", "==", '"east"', '"freeze"', '"', "12", "0.5", "1e999",
         "-1", "0", "1_000", "nan", "inf", "\t", "\x00", "é", "∞", "|", "*", "between", "effect", "with",
         "credibility", "if", "fought", "settled", "broken", "terms", "accepted", "'s", "public", "B's"]  # fmt: skip

VALID = [
    "P(settlement within 12 months) < 0.2",
    'P(settlement on "freeze", "freeze-guarantees" within 2 years) <= 0.1',
    "P(leader B removed within 1 year) > 0.05",
    "P(ceasefire holds 5 years) >= 0.5",
    'P(objective "east" taken within 6 months) < 0.5',
    "median settlement month > 24",
    "quantile(0.9) settlement month < 48",
    "median casualties of A until settlement > 400_000",
    "mean casualties of B over horizon < 1e6",
    "quantile(0.25) casualties of A during 12 months of war <= 365250",
    'median casualties of A until objective "east" taken > 400000',
    'quantile(0.75) months to take objective "east" >= 11',
    'lever "carrot" at 0.5 and "steady-aid" raises P(settlement within 12 months) by at least 0.1',
    'levers "more-military-aid" lowers median casualties of A until settlement by at most 1000',
    "P(settlement on terms accepted by B's public within 2 years) > 0.1",
    'P(settlement on "freeze" within 5 years | settlement within 5 years) > 0.5',
    "P(ceasefire broken by A within 3 years) > 0.5",
    'P(leader A removed within 24 months if settled on "freeze") > '
    "2 * P(leader A removed within 24 months if war fought on)",
    'median casualties of A until objective "east" taken between 350000 and 650000',
    'lever "steady-aid" at 0.5 with credibility 0.1 raises P(settlement within 12 months) by at most 0.01',
    'effect of lever "carrot" on P(settlement within 1 year) > 2 * effect of lever "carrot" with credibility 0.1 on '
    "P(settlement within 1 year)",
]


def outcome(text: str) -> Query | QueryError:
    """Parse; anything other than a Query or a QueryError fails the test."""
    try:
        return parse_query(text)
    except QueryError as e:
        assert e.message and isinstance(e.message, str)
        assert 1 <= e.column <= len(e.text) + 1, (e.column, e.text)
        lines = e.format().splitlines()
        assert lines[0].startswith(f"column {e.column}: ")
        assert lines[-1].rstrip().endswith("^")
        assert "Traceback" not in str(e) and "lark" not in str(e).lower()
        return e


def test_the_valid_queries_parse() -> None:
    for text in VALID:
        assert isinstance(outcome(text), Query), text


@FUZZ
@given(c=st.floats(min_value=-2, max_value=3, allow_nan=False), x=st.floats(0, 1))
def test_credibility_and_factors_are_checked_where_they_are_written(c: float, x: float) -> None:
    cred = f"{c:.6g}".replace("+", "")
    text = f'lever "a" with credibility {cred} raises P(settlement within 1 year) by at most 0.1'
    result = outcome(text)
    value = float(cred)
    if cred.startswith("-"):
        assert isinstance(result, QueryError)  # a sign is not part of the language's numbers
    elif 0.0 <= value <= 1.0:
        assert isinstance(result, Query) and result.left.levers[0].credibility == value
    else:
        assert isinstance(result, QueryError) and result.column == text.index(cred) + 1
    factor = f"{x:.6g}".replace("+", "")
    compared = f"P(settlement within 1 year) > {factor} * P(leader A removed within 1 year)"
    got = outcome(compared)
    if float(factor) > 0:
        assert isinstance(got, Query) and got.right is not None and got.right.factor == float(factor)
    else:
        assert isinstance(got, QueryError) and got.column == compared.index(factor, 30) + 1


@FUZZ
@given(st.text(max_size=120))
def test_any_text(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.lists(st.sampled_from(WORDS), max_size=25))
def test_any_sequence_of_the_language_words(words: list[str]) -> None:
    outcome(" ".join(words))


@FUZZ
@given(base=st.sampled_from(VALID), data=st.data())
def test_mutated_valid_queries(base: str, data: st.DataObject) -> None:
    chars = list(base)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        i = data.draw(st.integers(0, max(len(chars) - 1, 0)), label="at")
        action = data.draw(st.sampled_from(["delete", "insert", "replace", "word"]), label="action")
        if action == "delete" and chars:
            del chars[i]
        elif action == "insert":
            chars.insert(i, data.draw(st.characters(), label="char"))
        elif action == "replace" and chars:
            chars[i] = data.draw(st.characters(), label="char")
        else:
            chars[i:i] = list(" " + data.draw(st.sampled_from(WORDS), label="word") + " ")
    outcome("".join(chars))


_NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.6g}".replace("+", "")),
    st.sampled_from(["1e999", "1e308", "1e309", "0", "0.0", "1_000", "1e-400", "600", "601", "50", "51"]),
)


@FUZZ
@given(months=_NUMBERS, unit=st.sampled_from(["months", "years"]), p=_NUMBERS)
def test_numbers_are_checked_where_they_are_written(months: str, unit: str, p: str) -> None:
    text = f"P(settlement within {months} {unit}) < {p}"
    result = outcome(text)
    m = float(months.replace("_", "")) * (12 if unit == "years" else 1)
    prob = float(p.replace("_", ""))
    good_duration = math.isfinite(m) and 0 < m <= MAX_MONTHS and m == math.floor(m)
    good_p = math.isfinite(prob) and 0 <= prob <= 1
    if good_duration and good_p:
        assert isinstance(result, Query)
        assert result.quantity.months == int(m) and result.threshold == prob
    else:
        assert isinstance(result, QueryError)
        where = text.index(months) + 1 if not good_duration else text.rindex(p) + 1
        assert result.column == where, (text, result)


@FUZZ
@given(x=_NUMBERS, stat=st.sampled_from(["median", "mean", "quantile(0.5)"]))
def test_thresholds_round_trip_or_are_refused(x: str, stat: str) -> None:
    result = outcome(f"{stat} casualties of A over horizon >= {x}")
    value = float(x.replace("_", ""))
    if math.isfinite(value):
        assert isinstance(result, Query) and result.threshold == value
    else:
        assert isinstance(result, QueryError) and "too large" in result.message


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)))
def test_a_bad_query_in_a_scenario_is_a_located_scenario_error(query: str) -> None:
    assume("\n" not in query and "\r" not in query)
    escaped = query.replace("\\", "\\\\").replace('"', '\\"')
    assume(all(ch >= " " or ch == "\t" for ch in escaped) and "\x7f" not in escaped)
    text = CLAIMS_TOY + f'\n[[claims]]\nid = "fuzzed"\nsource = "test"\nasserts = "x"\nquery = "{escaped}"\n'
    line = text.count("\n")
    try:
        parsed = parse_query(query)
    except QueryError:
        parsed = None
    try:
        parse_scenario(text, "claims.toml")
    except ScenarioError as e:
        assert e.file == "claims.toml" and "Traceback" not in str(e)
        if parsed is None:
            _, where, expected = next(p for p in e.problems if p[0] == "claims.fuzzed.query")
            assert where == line and expected.startswith("column ")
        return
    assert parsed is not None  # it loaded: the query parses on its own too
