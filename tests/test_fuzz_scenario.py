"""Fuzzing the scenario loader: bad input never crashes and never lies.

Every mutation of the flagship scenario either loads (and then means what the file says) or
raises one :class:`ScenarioError` naming the file, the key path, the line and what was
expected; through the command line the same files exit with code 2 and no traceback.
Example counts are bounded so that the file runs in CI in well under a minute.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import CeasefireError, ScenarioError
from ceasefire.model import params as typed
from ceasefire.scenario.bounds import MAX_MAGNITUDE
from ceasefire.scenario.load import LIBRARY, MAX_BYTES, load_scenario, parse_scenario
from ceasefire.scenario.schema import Scenario, iter_params, param_domain
from conftest import Key, raw_path

FLAGSHIP = LIBRARY / "russia-ukraine-2026.toml"
TEXT = FLAGSHIP.read_text(encoding="utf-8")
DATA = tomllib.loads(TEXT)
SCENARIO = parse_scenario(TEXT, str(FLAGSHIP))
FILE = "mutant.toml"
EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_EXAMPLES", "50"))
"""Examples per fuzz test: few in CI (a flagship parse takes 15-70 ms); set the variable for a deep run."""
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
runner = CliRunner()


# -- helpers ------------------------------------------------------------------------------------


def get(data: Any, path: tuple[Key, ...]) -> Any:
    for el in path:
        data = data[el]
    return data


def put(data: Any, path: tuple[Key, ...], value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def drop(data: Any, path: tuple[Key, ...]) -> None:
    del get(data, path[:-1])[path[-1]]


def block_of(text: str, header: str, occurrence: int = 0) -> range:
    """Lines (1-based) of the ``occurrence``-th TOML table ``[header]`` as ``tomli_w`` writes it (tables
    below an array of tables repeat their header once per entry): from the header to the next one."""
    lines = text.splitlines()
    start = [n for n, line in enumerate(lines, 1) if line == f"[{header}]"][occurrence]
    end = next((n for n, line in enumerate(lines[start:], start + 1) if line.startswith("[")), len(lines) + 1)
    return range(start, end)


def entry_of(path: tuple[Key, ...]) -> int:
    """Which entry of an array of tables a path is in (0 outside arrays)."""
    ints = [el for el in path if isinstance(el, int)]
    return ints[-1] if ints else 0


def header_of(data: Any, path: tuple[Key, ...]) -> str:
    """The table header ``tomli_w`` writes for the table at ``path`` (quoted keys where needed)."""
    parts = []
    for el in path:
        if isinstance(el, int):
            continue
        parts.append(el if re.fullmatch(r"[A-Za-z0-9_-]+", el) else f'"{el}"')
    return ".".join(parts)


def check_error(err: ScenarioError, text: str) -> None:
    """The contract of every error: the file, and per problem a key, a line in the file, an expectation."""
    assert err.file == FILE
    assert err.problems
    n_lines = text.count("\n") + 1
    message = str(err)
    assert message.startswith("invalid scenario")
    assert "Traceback" not in message and "pydantic" not in message.lower()
    for key, line, expected in err.problems:
        assert isinstance(key, str)
        assert isinstance(expected, str) and expected.strip()
        assert line is None or 1 <= line <= n_lines
        assert (f"{FILE}:{line}" if line is not None else FILE) in message
    # pydantic's internal union tags must never leak into a key path
    assert not any(re.search(r"\[|function-|tagged-union", key) for key, _, _ in err.problems)


def outcome(text: str) -> Scenario | ScenarioError:
    """Parse; anything other than a scenario or a ScenarioError fails the test."""
    try:
        return parse_scenario(text, FILE)
    except ScenarioError as err:
        check_error(err, text)
        return err


# -- parameters: every kind of bad value, at every parameter of the flagship ------------------

PARAMS = [(path, raw_path(DATA, path), param_domain(SCENARIO, path)) for path, _ in iter_params(SCENARIO)]
CROSS_CHECKED = {"territory.area_km2", "territory.held_km2"}
"""Parameters whose valid values can still break a check across fields (A cannot hold more than all)."""
GROWTH_CHECKED = {"manpower", "recruitment", "equipment", "equipment_production", "equipment_restoration",
                  "aid_equipment", "aid_level"}  # fmt: skip
"""Forces' parameters whose valid values can still break the monthly growth check (bounds.MONTHLY_GROWTH_MAX)."""
OPTIONAL = {path for path, raw, _ in PARAMS if path.rsplit(".", 1)[-1] in typed.OPTIONAL or path in typed.SAME_AS}
"""Parameters a scenario may leave out (they then take a neutral value, or another leaf's)."""

Mutation = Callable[[dict[str, Any], tuple[float, float]], tuple[dict[str, Any] | None, bool]]
"""Makes a bad (or odd) parameter table from a good one; says whether the result must be refused."""


def _value(v: Any) -> Mutation:
    def m(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
        q = {
            k: x
            for k, x in p.items()
            if k not in ("dist", "low", "mode", "high", "mean", "sd", "median", "sigma", "alpha", "beta")
        }
        q["value"] = v
        ok = isinstance(v, float | int) and not isinstance(v, bool) and math.isfinite(v) and dom[0] <= v <= dom[1]
        return q, not ok

    return m


def _dist(**keys: Any) -> Mutation:
    def m(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
        q = {k: x for k, x in p.items() if k in ("source", "note", "unit")}
        q.update(keys)
        return q, True

    return m


def _unbounded_normal(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
    q = {k: x for k, x in p.items() if k in ("source", "note", "unit")}
    q.update(dist="normal", mean=0.5, sd=0.1)
    return q, dom[0] >= 0.0  # refused where the domain is bounded below (not a real number or a log-bias)


def _source(value: str | None) -> Mutation:
    def m(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
        q = dict(p)
        if value is None:
            del q["source"]
        else:
            q["source"] = value
        return q, True

    return m


def _assumption_without_note(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
    q = {k: x for k, x in p.items() if k != "note"}
    q["source"] = "assumption"
    return q, True


def _extra_key(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
    return {**p, "confidence": 0.9}, True


def _missing(p: dict[str, Any], dom: tuple[float, float]) -> tuple[dict[str, Any] | None, bool]:
    return None, True  # required unless optional (checked by the caller)


MUTATIONS: dict[str, Mutation] = {
    "negative": _value(-1.0),
    "large negative": _value(-1e300),
    "above one": _value(1.5),
    "zero": _value(0.0),
    "huge": _value(1e300),
    "infinite": _value(math.inf),
    "minus infinite": _value(-math.inf),
    "nan": _value(math.nan),
    "string": _value("5"),
    "boolean": _value(True),
    "date": _value(__import__("datetime").date(2026, 1, 1)),
    "list": _value([1, 2]),
    "uniform low > high": _dist(dist="uniform", low=2.0, high=1.0),
    "uniform low = high": _dist(dist="uniform", low=1.0, high=1.0),
    "triangular mode above high": _dist(dist="triangular", low=0.0, mode=2.0, high=1.0),
    "triangular mode below low": _dist(dist="triangular", low=0.5, mode=0.1, high=1.0),
    "normal sd zero": _dist(dist="normal", mean=0.5, sd=0.0, low=0.0, high=1.0),
    "normal sd negative": _dist(dist="normal", mean=0.5, sd=-1.0, low=0.0, high=1.0),
    "normal low > high": _dist(dist="normal", mean=0.5, sd=0.1, low=1.0, high=0.0),
    "lognormal median zero": _dist(dist="lognormal", median=0.0, sigma=0.5),
    "lognormal sigma negative": _dist(dist="lognormal", median=1.0, sigma=-0.5),
    "beta alpha zero": _dist(dist="beta", alpha=0.0, beta=2.0),
    "beta low > high": _dist(dist="beta", alpha=2.0, beta=2.0, low=1.0, high=0.0),
    "distribution key missing": _dist(dist="triangular", low=0.0, high=1.0),
    "unknown distribution": _dist(dist="gamma", shape=2.0, scale=1.0),
    "distribution name not a string": _dist(dist=3, low=0.0, high=1.0),
    "distribution without dist": _dist(low=0.0, high=1.0),
    "unbounded normal": _unbounded_normal,
    "uniform wider than 64-bit floats": _dist(dist="uniform", low=-1.7e308, high=1.7e308),
    "lognormal overflowing": _dist(dist="lognormal", median=1.0, sigma=1000.0),
    "normal overflowing": _dist(dist="normal", mean=1e308, sd=1e308),
    "unknown source": _source("no-such-source"),
    "empty source": _source(""),
    "no source": _source(None),
    "assumption without note": _assumption_without_note,
    "unknown key": _extra_key,
    "missing": _missing,
}


def _referenced_elsewhere(path: str, name: str, err: ScenarioError) -> bool:
    """A valid change refused for a reason outside the parameter: a check across fields, or a reference
    to a parameter that is now missing. The error must say which."""
    if path in CROSS_CHECKED and "held_km2 can exceed area_km2" in str(err):
        return True
    if path.split(".")[-1] in GROWTH_CHECKED and "times the start's" in str(err):
        return True  # a month's recruits or deliveries against the start's force or stock
    return name == "missing" and path in OPTIONAL and f"'{path}' is not a parameter" in str(err)


def _mutate_param(
    path: str, raw: tuple[Key, ...], name: str, base: dict[str, Any] = DATA, scenario: Scenario = SCENARIO
) -> tuple[dict[str, Any], bool]:
    data = copy.deepcopy(base)
    original = get(data, raw)
    new, must_fail = MUTATIONS[name](copy.deepcopy(original), param_domain(scenario, path))
    if new is None:
        drop(data, raw)
        must_fail = path not in OPTIONAL  # an optional one may still be named elsewhere (e.g. [factors])
    else:
        put(data, raw, new)
    return data, must_fail


@FUZZ
@given(param=st.sampled_from(PARAMS), name=st.sampled_from(sorted(MUTATIONS)))
def test_every_bad_parameter_is_refused_at_its_key_and_line(param: tuple[Any, ...], name: str) -> None:
    path, raw, _ = param
    data, must_fail = _mutate_param(path, raw, name)
    text = tomli_w.dumps(data)
    result = outcome(text)
    if not must_fail and isinstance(result, ScenarioError) and _referenced_elsewhere(path, name, result):
        return
    if not must_fail:
        assert isinstance(result, Scenario), f"{name} at {path} should load: {result}"
        if name == "missing":  # an optional parameter left out: it takes its neutral value in the model
            assert path not in dict(iter_params(result))
            return
        # never lies: the loaded parameter is the value written
        loaded, written = dict(iter_params(result))[path], get(data, raw)
        if "value" in written:
            assert loaded.is_fixed and loaded.nominal() == written["value"]
        else:
            assert type(loaded).__name__.lower() == written["dist"] and loaded.support() == (-math.inf, math.inf)
        return
    assert isinstance(result, ScenarioError), f"{name} at {path} was accepted"
    ours = [(key, line) for key, line, _ in result.problems if key == path or key.startswith(path + ".")]
    assert ours, f"{name} at {path}: no problem names the key: {result.problems}"
    # the line is inside the parameter's table (tomli_w writes it as [path] with one key per line);
    # a missing parameter is placed at its parent table, the nearest line that exists
    if name == "missing":
        assert all(line is not None for _, line in ours), (path, result.problems)
    else:
        block = block_of(text, header_of(data, raw), entry_of(raw))
        assert any(line in block for _, line in ours), (name, path, result.problems, block)


TOY_TEXT = (Path(__file__).parent / "data" / "toy.toml").read_text(encoding="utf-8")
TOY_DATA = tomllib.loads(TOY_TEXT)
TOY = parse_scenario(TOY_TEXT, "toy.toml")


def _representatives() -> list[tuple[str, tuple[Key, ...], tuple[float, float]]]:
    """One parameter of the small toy scenario per domain and per table (fast to parse)."""
    seen: set[object] = set()
    out = []
    for path, _ in iter_params(TOY):
        dom = param_domain(TOY, path)
        keys = [dom, path.split(".")[0]]
        if any(k not in seen for k in keys):
            seen.update(keys)
            out.append((path, raw_path(TOY_DATA, path), dom))
    return out


def test_every_mutation_family_at_every_parameter_kind() -> None:
    """A deterministic sweep over every kind of parameter x every mutation family (no sampling gaps)."""
    tried = refused = 0
    reps = _representatives()
    assert {dom for _, _, dom in reps} >= {(0.0, 1.0), (0.0, MAX_MAGNITUDE), (5e-324, MAX_MAGNITUDE),
                                          (-MAX_MAGNITUDE, MAX_MAGNITUDE)}  # fmt: skip
    for path, raw, _ in reps:
        for name in MUTATIONS:
            data, must_fail = _mutate_param(path, raw, name, TOY_DATA, TOY)
            text = tomli_w.dumps(data)
            result = outcome(text)
            tried += 1
            if must_fail:
                assert isinstance(result, ScenarioError), f"{name} at {path} was accepted"
                assert any(k == path or k.startswith(path + ".") for k, _, _ in result.problems), (
                    name,
                    path,
                    result.problems,
                )
                refused += 1
            elif not (isinstance(result, ScenarioError) and _referenced_elsewhere(path, name, result)):
                assert isinstance(result, Scenario), (name, path, result)
    assert tried == len(reps) * len(MUTATIONS) and refused > tried // 2


# -- the parameter text as written by hand: line numbers in the original file ------------------


def _param_lines() -> list[tuple[str, int, str]]:
    """(dotted path, line, line text) of every one-line parameter of the flagship text."""
    out = []
    lines = TEXT.splitlines()
    for path, _ in iter_params(SCENARIO):
        leaf = path.split(".")[-1]
        hits = [n for n, line in enumerate(lines, 1) if line.startswith(f"{leaf} = {{")]
        # pick the hit inside the right table: the nearest preceding header must fit the path
        for n in hits:
            header = next(line for line in reversed(lines[: n - 1]) if line.startswith("["))
            table = header.strip("[]")
            if path.startswith(table.replace("[", "").replace("]", "") + ".") or table.endswith(path.split(".")[0]):
                out.append((path, n, lines[n - 1]))
                break
    return out


PARAM_LINES = [p for p in _param_lines() if ".aims." not in p[0] and not p[0].startswith(("objectives.", "levers."))]


@FUZZ
@given(
    target=st.sampled_from(PARAM_LINES),
    bad=st.sampled_from(
        [
            ("value", "-7"),
            ("value", "nan"),
            ("value", "inf"),
            ("value", '"12"'),
            ("source", '"nowhere"'),
            ("low", "1e9"),
        ]
    ),
)
def test_hand_written_line_is_reported(target: tuple[str, int, str], bad: tuple[str, str]) -> None:
    path, n, line = target
    key, value = bad
    if f"{key} = " not in line:
        return
    new = re.sub(rf"\b{key} = (\"[^\"]*\"|[^,}}]+)", f"{key} = {value}", line, count=1)
    lines = TEXT.splitlines()
    lines[n - 1] = new
    text = "\n".join(lines) + "\n"
    result = outcome(text)
    if key == "value" and value == "-7" and param_domain(SCENARIO, path)[0] <= -7:
        assert isinstance(result, Scenario)
        return
    if isinstance(result, Scenario):
        # only a raised low of a distribution whose high stays above may load; it must say so
        assert key == "low"
        loaded = dict(iter_params(result))[path]
        assert loaded.support()[0] == 1e9
        return
    assert any(k.startswith(path) and line_no == n for k, line_no, _ in result.problems), (path, result.problems)


# -- references: unknown or circular ------------------------------------------------------------


def _aim_ids() -> list[str]:
    return [a["id"] for s in ("A", "B") for a in DATA["leaders"][s]["aims"]]


def test_unknown_references_are_named() -> None:
    cases: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
        (lambda d: d["terms"][0]["grants"].append("atlantis"), "terms.freeze.grants", "atlantis"),
        (lambda d: d["leaders"]["A"]["aims"][0].update(objective="atlantis"), "leaders.A.aims.donbas", "atlantis"),
        (lambda d: d["leaders"]["B"]["aims"][0].update(source="atlantis"), "leaders.B.aims", "atlantis"),
        (lambda d: d["levers"][0].update(target="sides.A.economy.atlantis"), "levers.secondary-oil-sanctions", ""),
        (lambda d: d["levers"][0].update(target=""), "levers.secondary-oil-sanctions", ""),
        (lambda d: d["levers"][0].update(target="sides"), "levers.secondary-oil-sanctions", ""),
    ]
    for change, key, needle in cases:
        data = copy.deepcopy(DATA)
        change(data)
        text = tomli_w.dumps(data)
        result = outcome(text)
        assert isinstance(result, ScenarioError), key
        assert any(k.startswith(key) for k, _, _ in result.problems), (key, result.problems)
        assert needle in str(result)


@pytest.mark.parametrize("field", ["per_unit", "credibility", "cost_per_unit"])
def test_lever_aimed_at_a_lever_is_refused(field: str) -> None:
    """A lever's own numbers are used before levers are applied: targeting them would be silently ignored
    (and a lever aimed at itself is circular), so the loader refuses it."""
    for target in ("secondary-oil-sanctions", "carrot"):
        data = copy.deepcopy(DATA)
        data["levers"][0]["target"] = f"levers.{target}.{field}"
        result = outcome(tomli_w.dumps(data))
        assert isinstance(result, ScenarioError), target
        assert any(k.startswith("levers.secondary-oil-sanctions") for k, _, _ in result.problems)
        assert "lever" in str(result)


def test_duplicate_and_self_referencing_ids() -> None:
    data = copy.deepcopy(DATA)
    data["terms"][1]["id"] = data["terms"][0]["id"]
    result = outcome(tomli_w.dumps(data))
    assert isinstance(result, ScenarioError) and "appears twice" in str(result)
    data = copy.deepcopy(DATA)
    data["objectives"].append(copy.deepcopy(data["objectives"][0]))
    result = outcome(tomli_w.dumps(data))
    assert isinstance(result, ScenarioError) and "appears twice" in str(result)


@FUZZ
@given(st.data())
def test_random_reference_names(data: st.DataObject) -> None:
    """Any string where an id is referenced: it loads only if it names what it must."""
    d = copy.deepcopy(DATA)
    name = data.draw(st.one_of(st.sampled_from(_aim_ids()), st.text(max_size=20)), label="name")
    where = data.draw(st.sampled_from(["grants", "objective", "lever"]), label="where")
    if where == "grants":
        ok = name in _aim_ids() and name not in d["terms"][2]["grants"]  # an aim granted twice is refused
        d["terms"][2]["grants"].append(name)
    elif where == "objective":
        d["leaders"]["A"]["aims"][1]["objective"] = name
        ok = name in [o["id"] for o in d["objectives"]]
    else:
        d["levers"][2]["target"] = name
        ok = name in {p for p, _, _ in PARAMS} and not name.startswith("levers.")
    result = outcome(tomli_w.dumps(d))
    assert isinstance(result, Scenario) == ok, (where, name, result)


# -- structure: missing tables, wrong types, sizes -----------------------------------------------


def _leaves(value: Any, path: tuple[Key, ...] = ()) -> list[tuple[Key, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _leaves(v, (*path, i))
    return out


LEAVES = _leaves(DATA)

_ANY = st.one_of(
    st.none(),  # means: delete the key
    st.text(max_size=30),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=5), st.floats()), max_size=4),
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(-3, 3), st.text(max_size=5)), max_size=3),
)


@FUZZ
@given(st.data())
def test_any_value_anywhere_gives_a_scenario_or_a_located_error(data: st.DataObject) -> None:
    d = copy.deepcopy(DATA)
    changed = []
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        leaves = _leaves(d)
        path = data.draw(st.sampled_from(leaves), label="path")
        value = data.draw(_ANY, label="value")
        if value is None:
            drop(d, path)
        else:
            put(d, path, value)
        changed.append(path)
    text = tomli_w.dumps(d)
    result = outcome(text)
    if isinstance(result, Scenario):
        # never lies: loading what was written and writing it back gives the same numbers
        for p, param in iter_params(result):
            lo, hi = param.sampled_range()
            dlo, dhi = param_domain(result, p)
            assert dlo <= lo <= hi <= dhi, (p, lo, hi)
            assert math.isfinite(param.nominal()) or not math.isfinite(hi), p


@FUZZ
@given(
    key=st.sampled_from(
        [("run", "samples"), ("run", "paths"), ("run", "seed"), ("run", "lookahead"), ("scenario", "horizon")]
    ),
    value=st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.sampled_from([0, -1, 10**6, 10**6 + 1, 10**7, 10**7 + 1, 600, 601, 120, 121, 2**63 - 1]),
    ),
)
def test_sizes_beyond_limits_are_refused(key: tuple[str, str], value: int) -> None:
    limits = {
        ("run", "samples"): (1, 1_000_000),
        ("run", "paths"): (1, 10_000_000),
        ("run", "seed"): (0, 2**63 - 1),
        ("run", "lookahead"): (1, 120),
        ("scenario", "horizon"): (1, 600),
    }
    d = copy.deepcopy(DATA)
    put(d, key, value)
    result = outcome(tomli_w.dumps(d))
    lo, hi = limits[key]
    if lo <= value <= hi:
        assert isinstance(result, Scenario)
        assert get(result.model_dump(), key) == value
    else:
        assert isinstance(result, ScenarioError)
        (k, line, expected), *_ = result.problems
        assert k == ".".join(key) and line is not None and "expected a number" in expected


def test_huge_inputs(tmp_path: Path) -> None:
    """Huge files, huge lists, deep nesting and long strings are refused or loaded, never crash."""
    # a file just above the size limit
    big = tmp_path / "big.toml"
    big.write_bytes(TEXT.encode() + b"#" * (MAX_BYTES + 1 - len(TEXT.encode())) + b"\n")
    with pytest.raises(ScenarioError, match="at most"):
        load_scenario(big)
    # 20 000 terms
    d = copy.deepcopy(DATA)
    d["terms"] = [dict(d["terms"][0], id=f"t{i}") for i in range(20_000)]
    result = outcome(tomli_w.dumps(d)[:MAX_BYTES])
    assert isinstance(result, Scenario | ScenarioError)
    # nesting deeper than any parser recursion limit
    deep = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
    result = outcome(deep)
    assert isinstance(result, ScenarioError)
    # a 1 MB string
    d = copy.deepcopy(DATA)
    d["scenario"]["title"] = "x" * 1_000_000
    assert isinstance(outcome(tomli_w.dumps(d)), Scenario)
    # an id of 65 characters
    d = copy.deepcopy(DATA)
    d["terms"][0]["id"] = "a" * 65
    result = outcome(tomli_w.dumps(d))
    assert isinstance(result, ScenarioError) and "at most 64 characters" in str(result)
    assert any(k.startswith("terms.") and k.endswith(".id") for k, _, _ in result.problems)


# -- malformed TOML text ------------------------------------------------------------------------

_JUNK = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "[",
            "[[",
            "]]",
            "= 1",
            "a =",
            'a = "',
            "a = '''",
            "a = {",
            "a = [1,",
            "a.b.c = 1",
            "[scenario]",
            "[[terms]]",
            "x = 1979-05-27T07:32:00Z",
            "\x00",
            "\ufeff",
            "a = 0x",
            "a = 1__0",
            "a = +inf",
            "horizon = 24",
            "[sides.A.forces]",
        ]
    ),
)


@FUZZ
@given(st.data())
def test_malformed_text_gives_a_syntax_error_with_a_line(data: st.DataObject) -> None:
    lines = TEXT.splitlines()
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        n = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(st.sampled_from(["delete", "insert", "truncate", "duplicate", "swap"]), label="action")
        if action == "delete":
            del lines[n]
        elif action == "insert":
            lines.insert(n, data.draw(_JUNK, label="junk"))
        elif action == "truncate":
            lines[n] = lines[n][: data.draw(st.integers(0, max(len(lines[n]) - 1, 0)), label="cut")]
        elif action == "duplicate":
            lines.insert(n, lines[n])
        else:
            m = data.draw(st.integers(0, len(lines) - 1), label="other")
            lines[n], lines[m] = lines[m], lines[n]
    text = "\n".join(lines)
    result = outcome(text)
    if isinstance(result, ScenarioError):
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            ((key, line, expected),) = result.problems
            assert key == "" and line is not None and expected.startswith("TOML syntax error")


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_a_file(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "blob.toml"
    path.write_bytes(blob)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


# -- through the command line: exit code 2, one message, no traceback ---------------------------

CLI_CASES = {
    "syntax": TEXT.replace("horizon = 60", "horizon = "),
    "negative rate": TEXT.replace("gain_sd_km2 = { value = 130,", "gain_sd_km2 = { value = -130,"),
    "infinite rate": TEXT.replace("gain_sd_km2 = { value = 130,", "gain_sd_km2 = { value = inf,"),
    "probability above one": re.sub(
        r"(\[ceasefire\]\nbreakdown = \{ dist = \"uniform\", low = 0.003, high = )0.010", r"\g<1>1.5", TEXT
    ),
    "low above high": TEXT.replace("low = 300, mode = 467, high = 650", "low = 700, mode = 467, high = 650"),
    "unknown source": TEXT.replace(
        'source = "isw-afp-2025", unit = "km²/month", note = "derived',
        'source = "nowhere", unit = "km²/month", note = "derived',
    ),
    "unknown aim": TEXT.replace('grants = ["crimea", "keep-donbas"', 'grants = ["atlantis", "keep-donbas"', 1),
    "unknown lever target": TEXT.replace('target = "sides.B.forces.aid_level"', 'target = "sides.B.forces.x"'),
    "lever at a lever": TEXT.replace('target = "sides.B.forces.aid_level"', 'target = "levers.carrot.per_unit"'),
    "missing table": TEXT.replace("[ceasefire]", "[ceasefire_]"),
    "huge samples": TEXT.replace("samples = 200", "samples = 1000000000"),
    "wrong type": TEXT.replace("horizon = 60", 'horizon = "60"'),
    "empty": "",
    "binary": "\x00\x01\x02",
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_exits_2_with_a_located_message(tmp_path: Path, case: str, command: str) -> None:
    text = CLI_CASES[case]
    assert text != TEXT
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(
        app, [command, str(path), *(["--samples", "2", "--paths", "2", "-q"] if command == "run" else [])]
    )
    assert result.exit_code == 2, (case, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out = result.output
    assert out.lstrip().startswith("error:")
    assert "Traceback" not in out
    assert str(path) in out.replace("\n", "")
    if case not in ("empty", "binary", "missing table"):
        assert re.search(re.escape(str(path)) + r":\d+", out.replace("\n", "")), out


def test_error_is_a_ceasefire_error() -> None:
    assert issubclass(ScenarioError, CeasefireError)


@pytest.mark.parametrize(
    "sizes", [["--samples", "1000001"], ["--paths", "10000001"], ["--horizon", "601"], ["--samples", "0"]]
)
def test_cli_sizes_beyond_the_file_limits_exit_2(sizes: list[str]) -> None:
    result = runner.invoke(app, ["run", "russia-ukraine-2026", *sizes, "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_cli_out_of_memory_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from ceasefire.run import experiment

    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("Unable to allocate 4.47 GiB for an array with shape (60, 10000000)")

    monkeypatch.setattr(experiment, "run", no_memory)
    result = runner.invoke(app, ["run", "russia-ukraine-2026", "--samples", "1", "--paths", "10000000", "-q"])
    assert result.exit_code == 2, result.output
    assert "not enough memory" in " ".join(result.output.split()) and "Traceback" not in result.output
