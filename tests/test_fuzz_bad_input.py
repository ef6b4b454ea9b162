"""The fuzz suite of issue 32: generated scenario files and command lines of every bad shape.

At least 1,000 files (deep nesting, huge and tiny numbers, every parameter at its bounds and just
beyond, long strings, several of these at once) and 200 command lines (sizes beyond their limits,
bad values of every option, bad targets, and valid lines at tiny sizes). Every file validates or is
refused with one :class:`ScenarioError` whose problems name a key and a line of the file; a sample
of the valid ones is run at 2 samples x 4 paths x 6 months. Every command line exits with code 0
or 2, never with a traceback, and a successful JSON output holds no NaN or infinity.

The generation is deterministic (a fixed seed): the counts are those of ``docs/robustness.md``.
"""

from __future__ import annotations

import json
import math
import random
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import ScenarioError
from ceasefire.scenario.load import LIBRARY, parse_scenario
from ceasefire.scenario.locate import key_lines
from ceasefire.scenario.schema import Scenario, iter_params, param_domain
from conftest import Key, raw_path

FLAGSHIP = "russia-ukraine-2026"
TEXT = (LIBRARY / f"{FLAGSHIP}.toml").read_text(encoding="utf-8").replace("no_deal_at_start = true", "")
DATA = tomllib.loads(TEXT)
SCENARIO = parse_scenario(TEXT, "flagship.toml")
runner = CliRunner()

# -- the files ------------------------------------------------------------------------------------


LINES = TEXT.splitlines()
WHERE = key_lines(TEXT)


def _with_value(path: str, number: str) -> str:
    """The flagship text with the one-line parameter ``path`` set to a fixed ``number`` (as TOML text)."""
    raw = raw_path(DATA, path)
    n = WHERE[raw] - 1
    lines = list(LINES)
    # the line's key: the parameter's name, or a dotted key ending in it (``rejected_by.B = {``)
    key = lines[n].split(" = {", 1)[0].strip()
    assert key == str(raw[-1]) or key.endswith(f".{raw[-1]}"), (path, lines[n])
    lines[n] = f'{key} = {{ value = {number}, source = "assumption", note = "fuzz" }}'
    return "\n".join(lines) + "\n"


def _nesting(rng: random.Random) -> list[tuple[str, str]]:
    depths = [*range(1, 41), 64, 100, 500, 1000, 5000]
    forms: dict[str, Callable[[int], str]] = {
        "header": lambda d: "\n[deep" + ".a" * d + "]\nb = 1\n",
        "dotted": lambda d: "\n[deep]\n" + ".".join(["a"] * d) + " = 1\n",
        "inline": lambda d: "\n[deep]\nx = " + "{ a = " * d + "1" + " }" * d + "\n",
        "array": lambda d: "\n[deep]\nx = " + "[" * d + "1" + "]" * d + "\n",
        "mixed": lambda d: "\n[deep]\nx = " + "[{ a = " * d + "1" + " }]" * d + "\n",
        "array-of-tables": lambda d: "\n[[deep" + ".a" * d + "]]\nb = 1\n",
        "in-a-table": lambda d: "\n[leaders.A.reasons" + ".z" * d + "]\nb = 1\n",
    }
    out = []
    for name, form in forms.items():
        for d in rng.sample(depths, 18):
            out.append((f"{name}-{d}", TEXT + form(d)))
    return out


_NUMBERS = [
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "1" + "0" * 30,
    "9" * 4300,
    "9" * 4301,
    "-" + "9" * 5000,
    "1e15",
    "1.0000001e15",
    "-1e15",
    "1e308",
    "1.8e308",
    "5e-324",
    "1e-320",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "0x7fffffffffffffff",
    "1_000_000",
    "0.0",
    "1e-15",
]
_NUMBER_PLACES = [
    ("prior_broken = 2", "prior_broken = {}"),
    ("seed = 20260201", "seed = {}"),
    ("samples = 200", "samples = {}"),
    ("horizon = 60", "horizon = {}"),
    ("intensity_max = 2.0", "intensity_max = {}"),
    ("weight = 0.35", "weight = {}"),
    ("concession_to_A = 0.1", "concession_to_A = {}"),
]


def _numbers(rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for old, new in _NUMBER_PLACES:
        assert old in TEXT, old
        for number in _NUMBERS:
            out.append((f"{old.split()[0]}={number[:12]}", TEXT.replace(old, new.format(number), 1)))
    params = [p for p, _ in iter_params(SCENARIO)]
    for path in rng.sample(params, 30):
        number = rng.choice(_NUMBERS)
        out.append((f"{path}={number[:12]}", _with_value(path, number)))
    return out


def _beyond(x: float, direction: int) -> float:
    step = max(abs(x) * 1e-9, 1e-300)
    return x + direction * step


def _bounds() -> list[tuple[str, str]]:
    """Every parameter at each end of its bound and just beyond it (a fixed value)."""
    out = []
    for path, _ in iter_params(SCENARIO):
        low, high = param_domain(SCENARIO, path)
        for label, value in (("low", low), ("high", high), ("below", _beyond(low, -1)), ("above", _beyond(high, 1))):
            out.append((f"{path}@{label}", _with_value(path, repr(value))))
    return out


def _line(path: tuple[Key, ...], text: str, lines: list[str] | None = None) -> list[str]:
    """``lines`` (default the flagship's) with the line of the key ``path`` replaced by ``text``."""
    out = list(LINES if lines is None else lines)
    out[WHERE[path] - 1] = text
    return out


def _strings(rng: random.Random) -> list[tuple[str, str]]:
    fire = LINES[WHERE[("attrition", "fire_exponent")] - 1]
    forces = [k for k in DATA["sides"]["A"]["forces"]]

    def every_force_negative() -> list[str]:
        lines = list(LINES)
        for k in forces:
            lines = _line(
                ("sides", "A", "forces", k), f'{k} = {{ value = -1, source = "assumption", note = "x" }}', lines
            )
        return lines

    cases: dict[str, Callable[[], list[str]]] = {
        "megabyte-title": lambda: _line(("scenario", "title"), 'title = "' + "x" * 1_000_000 + '"'),
        "long-id": lambda: _line(("terms", 0, "id"), 'id = "' + "a" * 65 + '"'),
        "long-query": lambda: _line(
            ("claims", 0, "query"), 'query = "P(settlement within 12 months) < 0.5 ' + "x" * 100_000 + '"'
        ),
        "long-target": lambda: _line(("levers", 0, "target"), 'target = "sides.' + "a" * 100_000 + '"'),
        "long-source": lambda: _line(
            ("attrition", "fire_exponent"), re.sub(r'source = "[^"]*"', 'source = "' + "s" * 100_000 + '"', fire)
        ),
        "long-key": lambda: _line(("attrition", "fire_exponent"), fire + "\n" + "k" * 100_000 + " = 1"),
        "nul-in-string": lambda: _line(("scenario", "title"), 'title = "a\\u0000b"'),
        "long-grant": lambda: _line(("terms", 0, "grants"), 'grants = ["crimea", "' + "g" * 100_000 + '"]'),
        "many-grants": lambda: _line(("terms", 0, "grants"), "grants = [" + ", ".join(['"crimea"'] * 10_000) + "]"),
        "long-unit": lambda: _line(("levers", 0, "cost_unit"), 'cost_unit = "' + "u" * 100_000 + '"'),
        "many-problems": every_force_negative,
        "long-dist": lambda: _line(
            ("attrition", "fire_exponent"), re.sub(r'dist = "[^"]*"', 'dist = "' + "d" * 100_000 + '"', fire)
        ),
    }
    out = []
    prior = WHERE[("ceasefire", "prior_broken")] - 1
    for name, change in cases.items():
        for k in range(4):
            lines = change()
            if k:  # the same with a bad number elsewhere
                lines[prior] = f"prior_broken = {rng.choice([-1, 101, 2**62])}"
            out.append((f"{name}-{k}", "\n".join(lines) + "\n"))
    return out


def _mixed(rng: random.Random, pool: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Two to four lines of other generated files' edits, spliced into one file."""
    out = []
    for k in range(60):
        lines = list(LINES)
        for _ in range(rng.randint(2, 4)):
            _, text = rng.choice(pool)
            other = text.splitlines()
            if len(other) == len(LINES):  # the edited lines of the other file
                for n, (mine, theirs) in enumerate(zip(LINES, other, strict=True)):
                    if mine != theirs:
                        lines[n] = theirs
            else:
                lines += other[len(LINES) :]
        out.append((f"mixed-{k}", "\n".join(lines) + "\n"))
    return out


@cache
def generated_files() -> list[tuple[str, str, str]]:
    """``(family, name, text)`` of every generated file (names numbered: unique)."""
    rng = random.Random(32)
    families = {
        "nesting": _nesting(rng),
        "numbers": _numbers(rng),
        "bounds": _bounds(),
        "strings": _strings(rng),
    }
    families["mixed"] = _mixed(rng, families["numbers"] + families["bounds"] + families["strings"])
    cases = [(family, name, text) for family, named in families.items() for name, text in named]
    return [(family, f"{i}-{name}", text) for i, (family, name, text) in enumerate(cases)]


FILES = generated_files()  # about 3 s


def outcome(name: str, text: str) -> Scenario | ScenarioError:
    """Validate; a ScenarioError must name a key and a line of the file for each problem."""
    try:
        return parse_scenario(text, f"{name[:40]}.toml")
    except ScenarioError as err:
        lines = text.count("\n") + 1
        message = str(err)
        assert message.startswith("invalid scenario") and "Traceback" not in message
        assert len(message) < 20_000, (name, len(message))  # nothing echoed whole
        assert len(err.problems) <= 21
        for key, line, expected in err.problems:
            assert isinstance(key, str) and expected.strip(), (name, err.problems)
            assert line is None or 1 <= line <= lines, (name, key, line)
        located = [p for p in err.problems if p[1] is not None]
        assert located or "more problems" in message or "no keys" in message, (name, err.problems)
        return err


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Scenario | ScenarioError]:
    return {f"{family}/{name}": outcome(name, text) for family, name, text in FILES}


def test_at_least_1000_files_of_every_shape() -> None:
    counts = Counter(family for family, _, _ in FILES)
    assert len(FILES) >= 1000, counts
    assert min(counts.values()) >= 40, counts
    assert len({name for _, name, _ in FILES}) == len(FILES)


def test_every_generated_file_validates_or_is_refused_at_a_line(outcomes: dict[str, Any]) -> None:
    counts = Counter((k.split("/")[0], isinstance(v, Scenario)) for k, v in outcomes.items())
    # every family has refusals; the bounds family also files that load (each parameter at its bound)
    assert all(counts[(f, False)] > 0 for f in ("nesting", "numbers", "bounds", "strings", "mixed")), counts
    assert counts[("bounds", True)] >= 145, counts


def test_beyond_a_bound_is_refused_at_the_parameter(outcomes: dict[str, Any]) -> None:
    for key, result in outcomes.items():
        family, name = key.split("/", 1)
        if family != "bounds" or not name.endswith(("@below", "@above")):
            continue
        path = name.split("@")[0].split("-", 1)[1]  # the name is "N-PATH@EDGE"
        assert isinstance(result, ScenarioError), f"{name} was accepted"
        assert any(k.startswith(path) for k, _, _ in result.problems), (name, result.problems)


RUN = ["--samples", "2", "--paths", "4", "--horizon", "6", "--no-compare-beliefs", "-q", "--json", "-"]


def strict_json(text: str) -> Any:
    """Parse JSON refusing NaN and infinities; every number finite."""

    def no(constant: str) -> Any:
        raise AssertionError(f"non-finite number {constant} in a successful output")

    doc = json.loads(text, parse_constant=no)

    def walk(x: Any) -> None:
        if isinstance(x, float):
            assert math.isfinite(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc)
    return doc


def test_a_sample_of_the_valid_files_runs_finite(outcomes: dict[str, Any], tmp_path: Path) -> None:
    valid = [(k, text) for (family, name, text), (k, v) in zip(FILES, outcomes.items(), strict=True)
             if isinstance(v, Scenario)]  # fmt: skip
    sample = random.Random(7).sample(valid, min(30, len(valid)))
    finished = 0
    for key, text in sample:
        path = tmp_path / "valid.toml"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["run", str(path), *RUN])
        assert result.exit_code in (0, 2), (key, result.output[-2000:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (key, result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            doc = strict_json(result.stdout)
            assert doc["manifest"]["paths"] == 4
            finished += 1
    assert finished >= len(sample) // 2


# -- the command lines -------------------------------------------------------------------------------

SIZES: dict[str, list[tuple[str, int]]] = {  # (option, its largest value)
    "run": [("--samples", 1_000_000), ("--paths", 10_000_000), ("--horizon", 600), ("--lookahead", 120)],
    "explain": [("--samples", 1_000_000), ("--paths", 10_000_000), ("--horizon", 600), ("--month", 600)],
    "claims": [("--samples", 1_000_000), ("--paths", 10_000_000), ("--horizon", 600)],
    "levers": [("--samples", 1_000_000), ("--paths", 4096), ("--popsize", 200), ("--maxiter", 1_000),
               ("--steps", 1_000), ("--search-samples", 100_000), ("--search-paths", 4096), ("--within", 600)],
    "sweep": [("-n", 1_048_576), ("--paths", 10_000_000), ("--chunk-rows", 1_048_576), ("--horizon", 600)],
    "sensitivity": [("-N", 1_048_576), ("--screen", 10_000), ("--screen-n", 10_000), ("--top", 100_000)],
    "discover": [("-n", 1_048_576), ("--max-boxes", 100), ("--dims", 10_000), ("--paths", 10_000_000)],
    "report": [("--samples", 1_000_000), ("--paths", 10_000_000), ("--analysis-samples", 100_000),
               ("--analysis-paths", 4096)],
}  # fmt: skip
TINY = {
    "run": ["--samples", "2", "--paths", "4", "--horizon", "6", "-q"],
    "explain": ["--samples", "2", "--paths", "4", "--horizon", "6", "-q"],
    "claims": ["--samples", "2", "--paths", "4", "--horizon", "6", "-q"],
    "levers": ["--samples", "2", "--paths", "4", "--horizon", "24", "--only", "carrot", "-q"],
    "sweep": ["--out", "sweep-out", "-n", "2", "--paths", "2", "--horizon", "6", "--workers", "1", "-q"],
    "sensitivity": ["-N", "2", "--paths", "2", "--horizon", "12", "--output", "casualties_A", "--workers", "1", "-q"],
    "discover": ["--where", "p_settle_12 < 0.5", "-n", "4", "--paths", "2", "--workers", "1", "-q"],
    "report": ["--quick", "--samples", "2", "--paths", "4", "--horizon", "24", "-q", "-o", "-"],
}
BAD_VALUES = ["0", "-1", "abc", "", "1e3", "nan", str(2**63), "9" * 400]
# options whose documented range starts at 0 ("0: every parameter apart", "0: the start"): "0" is no bad value
ZERO_ALLOWED = {("sensitivity", "--screen"), ("explain", "--month"), ("discover", "--dims")}


def _option(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option`` set to ``value`` (replaced where TINY sets it)."""
    out = list(argv)
    if option in out:
        out[out.index(option) + 1] = value
        return out
    return [*out, option, value]


def generated_commands() -> list[tuple[str, list[str]]]:
    """``(family, argv)`` of every generated command line."""
    rng = random.Random(32)
    out: list[tuple[str, list[str]]] = []
    for command, options in SIZES.items():
        for option, most in options:
            out.append(("beyond a limit", [command, FLAGSHIP, *_option(TINY[command], option, str(most + 1))]))
            bad = rng.choice(BAD_VALUES)
            if bad == "0" and (command, option) in ZERO_ALLOWED:
                bad = "-1"
            out.append(("bad value", [command, FLAGSHIP, *_option(TINY[command], option, bad)]))
        out.append(("seed", [command, FLAGSHIP, *_option(TINY[command], "--seed", str(2**63 + rng.randrange(9)))]))
        out.append(("seed", [command, FLAGSHIP, *_option(TINY[command], "--seed", "-1")]))
    bad_lines = [
        ["run", FLAGSHIP, "--policy", "x"],
        ["run", FLAGSHIP, "--beliefs", "y"],
        ["run", FLAGSHIP, "--lever", "bogus"],
        ["run", FLAGSHIP, "--lever", "carrot=nan"],
        ["run", FLAGSHIP, "--lever", "carrot=1e308"],
        ["run", FLAGSHIP, "--lever", "carrot=-1"],
        ["run", FLAGSHIP, "--backend", "fortran"],
        ["run", FLAGSHIP, "--json", "/nonexistent-folder/x.json"],
        ["run", FLAGSHIP, "--parquet", "."],
        ["run", "no-such-scenario"],
        ["run", "/"],
        ["run", "/dev/null"],
        ["validate", "x" * 5000],
        ["validate", "\x01"],
        ["explain", FLAGSHIP, "--side", "C"],
        ["explain", FLAGSHIP, "--terms", "nowhere"],
        ["levers", FLAGSHIP, "--intensities", "nan,1"],
        ["levers", FLAGSHIP, "--intensities", ",".join(["0.5"] * 200)],
        ["levers", FLAGSHIP, "--grid", "carrot"],
        ["levers", FLAGSHIP, "--grid", "a,b", "--target", "0.5"],
        ["levers", FLAGSHIP, "--target", "2"],
        ["levers", FLAGSHIP, "--target", "nan"],
        ["levers", FLAGSHIP, "--within", "12"],
        ["levers", FLAGSHIP, "--only", "x" * 10_000],
        ["discover", FLAGSHIP, "--where", " and ".join(["p_settle_12 < 0.5"] * 1000)],
        ["discover", FLAGSHIP, "--where", "(" * 5000 + "p_settle_12 < 0.5" + ")" * 5000],
        ["discover", FLAGSHIP, "--where", "nosuch < 1"],
        ["discover", FLAGSHIP, "--where", "p_settle_12 < 1e999"],
        ["discover", FLAGSHIP, "--where", "x" * 100_000],
        ["sweep", FLAGSHIP, "--out", "o"],
        ["sweep", FLAGSHIP, "--out", "o", "--design", "missing.csv"],
        ["sensitivity", FLAGSHIP, *_option(TINY["sensitivity"], "--output", "nosuch")],  # TINY sets --output
        ["sensitivity", FLAGSHIP, "--method", "magic", *TINY["sensitivity"]],
        ["report", FLAGSHIP, "--sections", "nosuch"],
        ["report", FLAGSHIP, "--horizon", "12", "--samples", "2"],
        ["report", FLAGSHIP, "-o", "/nonexistent-folder/r.html"],
        ["serve", "--host", "999.1.1.1"],
        ["serve", "--host", "8.8.8.8", "--port", "1"],
        ["serve", "--port", "0"],
        ["serve", "--port", "70000"],
        ["serve", "nosuch-scenario", "--host", "999.1.1.1"],
        ["claims", FLAGSHIP, "--json", "/nonexistent-folder/c.json"],
        ["nosuch-command"],
    ]
    out += [("bad value", line) for line in bad_lines]
    # valid lines at tiny sizes, with random valid options; two of `claims`, whose tiny run still
    # simulates every world its claims need (seconds each)
    while len(out) < 200:
        command = rng.choice(["run", "run", "validate", "run"]) if len(out) < 198 else "claims"
        argv = [command, FLAGSHIP]
        if command != "validate":
            argv += TINY[command] + ["--seed", str(rng.randrange(2**63)), "--json", "-"]
        if command == "run":
            argv += rng.choice([[], ["--policy", "myopic"], ["--beliefs", "true"], ["--no-compare-beliefs"]])
            argv += rng.choice([[], ["--lever", "carrot=0.5"], ["--lever", "more-military-aid"], ["--lookahead", "3"]])
        out.append(("valid", argv))
    return out


COMMANDS = generated_commands()


def test_at_least_200_command_lines() -> None:
    counts = Counter(family for family, _ in COMMANDS)
    assert len(COMMANDS) >= 200 and counts["valid"] >= 40, counts


def test_every_command_line_exits_0_or_2_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    codes: Counter[tuple[str, int]] = Counter()
    for family, argv in COMMANDS:
        result = runner.invoke(app, argv)
        shown = " ".join(a[:40] for a in argv)[:300]
        assert result.exit_code in (0, 2), (shown, result.exit_code, result.output[-1500:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (shown, repr(result.exception))
        assert "Traceback" not in result.output, shown
        if family != "valid":
            assert result.exit_code == 2, (shown, result.output[-500:])
            assert len(result.output) < 20_000, shown  # a long argument is not echoed whole
        elif result.exit_code == 0 and "--json" in argv:
            strict_json(result.stdout)
        codes[(family, result.exit_code)] += 1
    assert codes[("valid", 0)] >= 40, codes
