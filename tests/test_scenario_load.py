"""Loading scenarios: every bad file gives one ScenarioError naming file, key, line and what was expected."""

from __future__ import annotations

import copy
import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasefire.errors import ScenarioError
from ceasefire.scenario import load
from ceasefire.scenario.load import (
    LIBRARY,
    list_scenarios,
    load_scenario,
    parse_scenario,
    resolve,
    scenario_hash,
)
from ceasefire.scenario.locate import key_lines, locate
from ceasefire.scenario.schema import Scenario

TOY = Path(__file__).parent / "data" / "toy.toml"
TOY_TEXT = TOY.read_text(encoding="utf-8")
TOY_DATA = tomllib.loads(TOY_TEXT)
FLAGSHIP = "russia-ukraine-2026"


def line_of(text: str, fragment: str, occurrence: int = 1, exact: bool = False) -> int:
    """1-based line of the n-th line that contains (or, if ``exact``, is) ``fragment``."""
    lines = text.splitlines()
    hits = [n for n, line in enumerate(lines, 1) if (line == fragment if exact else fragment in line)]
    assert len(hits) >= occurrence, f"{fragment!r} not in text"
    return hits[occurrence - 1]


def edit(old: str, new: str, occurrence: int = 1, text: str = TOY_TEXT, exact: bool = False) -> tuple[str, int]:
    """Replace the n-th line containing ``old`` (whole line) by ``new``; return text and line."""
    n = line_of(text, old, occurrence, exact)
    lines = text.splitlines()
    lines[n - 1] = new
    return "\n".join(lines) + "\n", n


def problems_of(text: str, file: str = "bad.toml") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file)
    err = info.value
    assert err.file == file
    assert "Traceback" not in str(err)
    return err


def only(err: ScenarioError) -> tuple[str, int | None, str]:
    assert len(err.problems) == 1, err.problems
    return err.problems[0]


# -- the valid base ---------------------------------------------------------------------------


def test_toy_is_valid() -> None:
    s = parse_scenario(TOY_TEXT, str(TOY))
    assert isinstance(s, Scenario)
    assert s.scenario.id == "toy"
    assert load_scenario(TOY) == s
    assert load_scenario(str(TOY)) == s


def test_flagship_loads() -> None:
    if not (LIBRARY / f"{FLAGSHIP}.toml").is_file():
        pytest.skip("flagship scenario not written yet")
    assert FLAGSHIP in list_scenarios()
    assert resolve(FLAGSHIP) == LIBRARY / f"{FLAGSHIP}.toml"
    s = load_scenario(FLAGSHIP)
    assert s.scenario.id
    assert scenario_hash(FLAGSHIP) == hashlib.sha256((LIBRARY / f"{FLAGSHIP}.toml").read_bytes()).hexdigest()


def test_list_scenarios_sorted_stems() -> None:
    names = list_scenarios()
    assert names == sorted(names)
    assert all("/" not in n and not n.endswith(".toml") for n in names)


def test_scenario_hash_is_sha256_of_bytes(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(TOY_TEXT, encoding="utf-8")
    h = scenario_hash(f)
    assert h == hashlib.sha256(TOY_TEXT.encode()).hexdigest()
    f.write_text(TOY_TEXT + "\n# changed\n", encoding="utf-8")
    assert scenario_hash(str(f)) != h


# -- bad content: each names the file, the key, the line, and what was expected ---------------


def test_toml_syntax_error() -> None:
    text, n = edit("horizon = 24", "horizon = ")
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("", n)
    assert expected.startswith("TOML syntax error")
    assert f"bad.toml:{n}: TOML syntax error" in str(problems_of(text))


def test_duplicate_key_is_a_syntax_error() -> None:
    text, n = edit("horizon = 24", "horizon = 24\nhorizon = 25")
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("", n + 1)
    assert "already set" in expected


def test_missing_required_key() -> None:
    text, _ = edit("gain_sd_km2 = ", "")
    key, line, expected = only(problems_of(text))
    assert key == "territory.gain_sd_km2"
    assert line == line_of(text, "[territory]")
    assert expected == "missing required key"


def test_missing_required_table() -> None:
    text = TOY_TEXT.replace("[ceasefire]", "[ceasefire_]")
    err = problems_of(text)
    keys = {k: e for k, _, e in err.problems}
    assert keys["ceasefire"] == "missing required table [ceasefire]"
    assert keys["ceasefire_"].startswith("unknown key (allowed here: scenario, run, sources")


def test_unknown_key_lists_allowed_keys() -> None:
    text, n = edit('title = "Toy war"', 'title = "Toy war"\ncolour = "red"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("scenario.colour", n + 1)
    assert expected == "unknown key (allowed here: id, title, start, horizon, description, no_deal_at_start)"


def test_unknown_key_inside_parameter_hints_at_dist() -> None:
    text, n = edit("area_km2 = { value = 100000", 'area_km2 = { value = 1e5, low = 1, source = "test" }')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.area_km2.low", n)
    assert "allowed here: source, note, unit, value" in expected
    assert "dist" in expected


def test_wrong_type_string_for_number() -> None:
    text, n = edit("area_km2 = { value = 100000", 'area_km2 = { value = "abc", source = "test" }')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.area_km2.value", n)
    assert expected == "expected a number, got the string 'abc'"


def test_numeric_string_and_boolean_are_not_numbers() -> None:
    text, n = edit("area_km2 = { value = 100000", 'area_km2 = { value = "5", source = "test" }')
    assert only(problems_of(text))[2] == "expected a number, got the string '5'"
    text, n = edit("prior_broken = 1", "prior_broken = true")
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("ceasefire.prior_broken", n)
    assert expected == "expected a whole number, got the boolean true"


def test_quoted_date_is_rejected() -> None:
    text, n = edit("start = 2026-01-01", 'start = "2026-01-01"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("scenario.start", n)
    assert "date" in expected and "got the string '2026-01-01'" in expected


def test_number_where_parameter_table_expected() -> None:
    text, n = edit("exchange_ratio = ", "exchange_ratio = 1.5")
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("attrition.exchange_ratio", n)
    assert expected.startswith("expected a parameter table") and expected.endswith("got the number 1.5")


def test_unknown_source() -> None:
    text, n = edit("area_km2 = { value = 100000", 'area_km2 = { value = 100000, source = "nope" }')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.area_km2.source", n)
    assert "source 'nope' is not in [sources]" in expected and "known: test" in expected


def test_unknown_source_of_an_aim() -> None:
    text, n = edit('source = "test"', 'source = "gossip"', occurrence=2, exact=True)
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.A.aims.neutrality.source", n)
    assert "'gossip'" in expected


def test_assumption_without_note() -> None:
    text, n = edit("power_elasticity = ", 'power_elasticity = { value = 1.0, source = "assumption" }')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.power_elasticity", n)
    assert "needs a note" in expected


def test_reserved_source_name() -> None:
    text = TOY_TEXT.replace(
        "[sources.test]", "[sources.assumption]\nauthor = 'a'\ntitle = 't'\ndate = 'd'\nwhere = 'w'\n\n[sources.test]"
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("sources.assumption", line_of(text, "[sources.assumption]"))
    assert "reserved" in expected


def test_uniform_low_above_high() -> None:
    text, n = edit(
        "casualties_per_day = ",
        'casualties_per_day = { dist = "uniform", low = 1500, high = 500, source = "test" }',
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("attrition.casualties_per_day", n)
    assert "uniform needs low < high" in expected


def test_triangular_mode_outside_range() -> None:
    text, n = edit(
        "legitimacy = { dist",
        'legitimacy = { dist = "triangular", low = 0.0, mode = 0.9, high = 0.5, source = "test" }',
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.A.reasons.legitimacy", n)
    assert "low <= mode <= high" in expected and "mode=0.9" in expected


def test_probability_outside_unit_interval_uniform() -> None:
    text, n = edit(
        "aid_reliability = ",
        'aid_reliability = { dist = "uniform", low = 0, high = 1.5, source = "test" }',
        occurrence=2,
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("sides.B.forces.aid_reliability", n)
    assert "must lie in [0, 1]" in expected and "uniform(0, 1.5)" in expected


def test_probability_outside_unit_interval_beta() -> None:
    text, n = edit(
        "permanent_loss_share = ",
        'permanent_loss_share = { dist = "beta", alpha = 2, beta = 2, low = 0, high = 1.5, source = "test" }',
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("sides.A.forces.permanent_loss_share", n)
    assert "must lie in [0, 1]" in expected


def test_negative_value_for_non_negative_field() -> None:
    text, n = edit("reserves = ", 'reserves = { value = -5, source = "test" }', occurrence=2)
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("sides.B.economy.reserves", n)
    assert "must lie in [0, inf]" in expected


def test_bad_distribution_parameter() -> None:
    text, n = edit("optimism = { dist", 'optimism = { dist = "normal", mean = 0, sd = -1, source = "test" }')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.A.optimism.sd", n)
    assert expected == "expected a number greater than 0, got the number -1"


def test_unknown_distribution_name() -> None:
    text, n = edit(
        "gain_km2_per_month = ",
        'gain_km2_per_month = { dist = "weibull", low = 0, high = 1, source = "test" }',
    )
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.gain_km2_per_month.dist", n)
    assert "unknown distribution" in expected and "triangular" in expected and "'weibull'" in expected


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "+nan"])
def test_non_finite_numbers(bad: str) -> None:
    text, n = edit("gain_sd_km2 = ", f'gain_sd_km2 = {{ value = {bad}, source = "test" }}')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("territory.gain_sd_km2.value", n)
    assert expected.startswith("expected a finite number")


def test_non_finite_number_in_list_entry_is_named_by_id() -> None:
    text, n = edit("sanctions_relief = 0.5", "sanctions_relief = inf")
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("terms.freeze.sanctions_relief", n)
    assert expected == "expected a finite number, got the number inf"


def test_terms_granting_unknown_aim() -> None:
    text, n = edit('grants = ["neutrality"]', 'grants = ["neutrality", "world-peace"]')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("terms.freeze.grants", n)
    assert "unknown aim 'world-peace'" in expected


def test_terms_grant_of_wrong_type_uses_entry_id() -> None:
    text, n = edit('grants = ["neutrality"]', 'grants = ["neutrality", 3]')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("terms.freeze.grants.1", n)
    assert expected == "expected a string (in quotes), got the number 3"


def test_lever_targeting_unknown_parameter() -> None:
    text, n = edit("target = ", 'target = "sides.B.forces.aid_lvl"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("levers.more-aid.target", n)
    assert "not a parameter" in expected


def test_duplicate_ids() -> None:
    text, n = edit('id = "capital"', 'id = "east"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("objectives.east.id", n)
    assert "appears twice" in expected


def test_bad_id() -> None:
    text, n = edit('id = "freeze"', 'id = "Freeze Now"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("terms.Freeze Now.id", n)
    assert "lowercase" in expected


def test_objective_reference_unknown() -> None:
    text, n = edit('objective = "east"', 'objective = "west"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.A.aims.take-east.objective", n)
    assert "objective 'west' is not among [[objectives]]" in expected


def test_literal_choice() -> None:
    text, n = edit('regime = "democracy"', 'regime = "monarchy"')
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.B.regime", n)
    assert expected.startswith("expected one of 'personalist'")
    assert expected.endswith("got the string 'monarchy'")


def test_side_other_than_a_or_b() -> None:
    text = TOY_TEXT.replace("[sides.B]", "[sides.C]").replace("[sides.B.", "[sides.C.")
    err = problems_of(text)
    keys = {k: (ln, e) for k, ln, e in err.problems}
    assert keys["sides.C"] == (line_of(text, "[sides.C]"), "unknown key; expected 'A' or 'B'")


def test_empty_list_of_terms() -> None:
    text = "terms = []\n" + TOY_TEXT.split("[[terms]]")[0] + "[ceasefire]" + TOY_TEXT.split("[ceasefire]")[1]
    key, line, expected = only(problems_of(text))
    assert key == "terms"
    assert line == 1
    assert expected == "expected at least 1 entry, got 0"


def test_several_problems_in_one_error_sorted_by_line() -> None:
    text, n1 = edit("horizon = 24", 'horizon = "long"')
    text, n2 = edit("exchange_ratio = ", 'exchange_ratio = { value = "x", source = "test" }', text=text)
    err = problems_of(text)
    assert [(k, ln) for k, ln, _ in err.problems] == [
        ("scenario.horizon", n1),
        ("attrition.exchange_ratio.value", n2),
    ]
    assert str(err).startswith("invalid scenario (2 problems)")
    assert f"bad.toml:{n1}: scenario.horizon: expected a whole number, got the string 'long'" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    for content in ("", "# only a comment\n\n"):
        f = tmp_path / "empty.toml"
        f.write_text(content, encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            load_scenario(f)
        assert info.value.file == str(f)
        key, line, expected = only(info.value)
        assert (key, line) == ("", None)
        assert "no keys" in expected and "[scenario]" in expected


# -- bad files ----------------------------------------------------------------------------------


def test_unknown_shipped_name() -> None:
    with pytest.raises(ScenarioError) as info:
        resolve("no-such-scenario")
    assert info.value.file == "no-such-scenario"
    key, line, expected = only(info.value)
    assert (key, line) == ("", None)
    assert "no shipped scenario" in expected and "shipped scenarios:" in expected
    for name in list_scenarios():
        assert name in expected


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    assert info.value.file == str(missing)
    assert "file not found" in only(info.value)[2] and "shipped scenarios" in only(info.value)[2]


def test_path_to_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert info.value.file == str(tmp_path)
    assert "is a directory" in only(info.value)[2]
    with pytest.raises(ScenarioError):
        scenario_hash(str(tmp_path))


def test_file_too_large(tmp_path: Path) -> None:
    f = tmp_path / "big.toml"
    f.write_bytes(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert "at most" in only(info.value)[2] and "2 MiB" in only(info.value)[2]


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "latin1.toml"
    f.write_bytes(TOY_TEXT.replace('title = "Toy war"', 'title = "Toy wär"').encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    key, line, expected = only(info.value)
    assert (key, line) == ("", line_of(TOY_TEXT, 'title = "Toy war"'))
    assert "not UTF-8" in expected


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + TOY_TEXT.encode())
    assert load_scenario(f).scenario.id == "toy"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secret.toml"
    f.write_text(TOY_TEXT, encoding="utf-8")

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.file == str(f)
    assert only(info.value)[2] == "cannot read the file: Permission denied"


def test_shipped_name_prefers_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "toy.toml").write_text(TOY_TEXT, encoding="utf-8")
    monkeypatch.setattr(load, "LIBRARY", lib)
    assert list_scenarios() == ["toy"]
    assert resolve("toy") == lib / "toy.toml"
    assert load_scenario("toy").scenario.id == "toy"
    bad = TOY_TEXT.replace("horizon = 24", "horizon = 0")
    (lib / "toy.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario("toy")
    assert info.value.file == str(lib / "toy.toml")


def test_error_text_never_has_a_traceback() -> None:
    err = problems_of(edit("horizon = 24", "horizon = ")[0])
    assert "Traceback" not in str(err) and "Traceback" not in err.format()
    assert str(err).splitlines()[0] == "invalid scenario"


# -- the line locator -------------------------------------------------------------------------

LOCATOR_TEXT = '''\
# header comment [not.a.table]
title = "x"
a.b = 1
"quoted key".'dotted.part' = { x = 1, y = [1, {z = 2}] }
text = """
[fake.table]
x = 1
"""

[t]  # comment
inline = { p = { q = 3 } }

[[arr]]
id = "first"

[arr.sub]
k = 1

[[arr]]
id = "second"
list = [
  1,
  2,  # two
]

[[arr.inner]]
v = 1
'''


def test_locator_tables_keys_and_arrays() -> None:
    text = LOCATOR_TEXT
    assert tomllib.loads(text)  # the sample itself is valid TOML
    assert locate(text, ("title",)) == 2
    assert locate(text, ("a", "b")) == 3
    assert locate(text, ("quoted key", "dotted.part", "y", 1, "z")) == 4
    assert locate(text, ("t",)) == 10
    assert locate(text, ("t", "inline", "p", "q")) == 11
    assert locate(text, ("t", "missing")) == 10  # falls back to the table header
    assert locate(text, ("arr", 0)) == 13
    assert locate(text, ("arr", 0, "id")) == 14
    assert locate(text, ("arr", 0, "sub", "k")) == 17
    assert locate(text, ("arr", 1, "id")) == 20
    assert locate(text, ("arr", 1, "list", 1)) == 23
    assert locate(text, ("arr", 1, "inner", 0, "v")) == 27
    assert locate(text, ("arr", 1, "nothing", "deeper")) == 19
    assert locate(text, ("fake", "table")) is None
    assert locate(text, ("nowhere",)) is None
    assert locate(text, ()) is None


def test_locator_finds_every_key_of_the_toy() -> None:
    found = key_lines(TOY_TEXT)

    def walk(value: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        out = [path] if path else []
        if isinstance(value, dict):
            for k, v in value.items():
                out += walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += walk(v, (*path, i))
        return out

    paths = walk(TOY_DATA, ())
    assert all(p in found for p in paths)
    lines = TOY_TEXT.splitlines()
    for p in paths:
        last = p[-1]
        if isinstance(last, str):
            assert last in lines[found[p] - 1], p


def test_locator_never_raises_on_broken_text() -> None:
    for text in ("[unclosed", 'a = "unterminated', "a = [1, 2", "= 1", "[[a]]\n[[a]]\nb = {", "\x00\x01"):
        locate(text, ("a", 0, "b"))


# -- robustness ---------------------------------------------------------------------------------

_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=4), st.booleans()), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(-5, 5), st.text(max_size=4)), max_size=3),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _check_outcome(text: str) -> None:
    try:
        parse_scenario(text, "mutant.toml")
    except ScenarioError as err:
        assert err.file == "mutant.toml"
        assert err.problems
        n_lines = text.count("\n") + 1
        for key, line, expected in err.problems:
            assert isinstance(key, str) and isinstance(expected, str) and expected
            assert line is None or 1 <= line <= n_lines
        assert "Traceback" not in str(err)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_data_loads_or_raises_scenario_error(data: st.DataObject) -> None:
    scenario = copy.deepcopy(TOY_DATA)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = _paths(scenario)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent: Any = scenario
        for el in path[:-1]:
            parent = parent[el]
        if data.draw(st.booleans(), label="delete"):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_VALUES, label="value")
    _check_outcome(tomli_w.dumps(scenario))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_text_loads_or_raises_scenario_error(data: st.DataObject) -> None:
    lines = TOY_TEXT.splitlines()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        n = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(st.sampled_from(["delete", "insert", "truncate"]), label="action")
        if action == "delete":
            del lines[n]
        elif action == "insert":
            lines.insert(n, data.draw(st.text(max_size=30), label="text"))
        else:
            lines[n] = lines[n][: data.draw(st.integers(0, max(len(lines[n]) - 1, 0)), label="cut")]
    _check_outcome("\n".join(lines))


def test_missing_side() -> None:
    # drop everything of leader B (his aim is not granted by any terms)
    text = TOY_TEXT.split("[leaders.B]")[0] + "[[terms]]" + TOY_TEXT.split("[[terms]]", 1)[1]
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders", line_of(text, "[leaders.A]"))
    assert expected == "[leaders] needs both A and B; missing B"


def test_aim_weights_all_zero() -> None:
    text, _ = edit("weight = 1.0", "weight = 0.0", occurrence=2)
    key, line, expected = only(problems_of(text))
    assert (key, line) == ("leaders.B.aims", line_of(text, "[[leaders.B.aims]]"))
    assert expected == "the weights must not all be zero"


def test_lognormal_is_allowed_for_a_strictly_positive_parameter() -> None:
    from ceasefire.scenario.load import LIBRARY, parse_scenario

    text = (LIBRARY / "russia-ukraine-2026.toml").read_text(encoding="utf-8")
    old = 'casualties_per_day = { dist = "triangular", low = 850, mode = 1100, high = 1650,'
    new = 'casualties_per_day = { dist = "lognormal", median = 1100, sigma = 0.2,'
    assert old in text
    scenario = parse_scenario(text.replace(old, new), "lognormal.toml")
    assert scenario.attrition.casualties_per_day.describe() == "lognormal(median 1100, sigma 0.2)"


def test_aim_ids_must_differ_between_the_two_leaders() -> None:
    from ceasefire.errors import ScenarioError
    from ceasefire.scenario.load import LIBRARY, parse_scenario

    text = (LIBRARY / "russia-ukraine-2026.toml").read_text(encoding="utf-8")
    bad = text.replace('id = "keep-south"', 'id = "crimea"').replace('"keep-south"', '"crimea"')
    with pytest.raises(ScenarioError, match="aims of the two leaders: id 'crimea' appears twice"):
        parse_scenario(bad, "dup.toml")
