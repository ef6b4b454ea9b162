"""Scenario discovery: the --where grammar, PRIM on a known box, and the flagship through the CLI."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ceasefire.analysis.discover import WhereError, find_boxes, parse_where, select_dims
from ceasefire.cli import app
from ceasefire.run.sweep import METRICS, model_factors
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.schema import iter_params

FLAGSHIP = "russia-ukraine-2026"
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


@pytest.mark.parametrize("seed", [0, 1])
def test_prim_finds_a_known_box(seed: int) -> None:
    """y = (x1 > 0.7) and (x2 < 0.3) among four uniform inputs: the box restricts x1 and x2 only."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((1000, 4)), columns=["x1", "x2", "x3", "x4"])
    y = ((x["x1"] > 0.7) & (x["x2"] < 0.3)).to_numpy()
    boxes = find_boxes(x, y, threshold=0.95, sources={"x1": "s1", "x2": "s2"})
    assert len(boxes) >= 1
    box = boxes[0]
    lim = {lm.parameter: lm for lm in box.limits}
    assert set(lim) == {"x1", "x2"}
    assert lim["x1"].low == pytest.approx(0.7, abs=0.04) and lim["x1"].high == lim["x1"].sampled_high
    assert lim["x2"].high == pytest.approx(0.3, abs=0.04) and lim["x2"].low == lim["x2"].sampled_low
    assert lim["x1"].source == "s1"
    assert box.density >= 0.95 and box.coverage >= 0.9
    inside = (x["x1"] >= lim["x1"].low) & (x["x2"] <= lim["x2"].high)
    assert box.points == inside.sum() and box.mass == pytest.approx(inside.mean())
    assert box.cases == (inside & y).sum() and box.coverage == pytest.approx(box.cases / y.sum())


def test_the_dimensions_that_separate_the_cases_are_selected() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((600, 12)), columns=[f"x{i}" for i in range(12)])
    y = ((x["x4"] > 0.6) & (x["x9"] < 0.5)).to_numpy()
    assert set(select_dims(x, y, 2, seed=1)) == {"x4", "x9"}
    assert select_dims(x, y, 12, seed=1) == list(x.columns)


def test_prim_with_nothing_or_everything_of_interest_finds_no_box() -> None:
    x = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 2, 50)})
    assert find_boxes(x, np.zeros(50, bool)) == [] and find_boxes(x, np.ones(50, bool)) == []


metric_names = st.sampled_from(sorted(METRICS))
numbers = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=60, deadline=None)
@given(a=metric_names, op_a=st.sampled_from(sorted(OPS)), va=numbers, b=metric_names,
       op_b=st.sampled_from(sorted(OPS)), vb=numbers, join=st.sampled_from(["and", "or"]), negate=st.booleans(),
       data=st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, np.nan]), min_size=12, max_size=12))  # fmt: skip
def test_conditions_mean_what_they_say(a, op_a, va, b, op_b, vb, join, negate, data) -> None:  # type: ignore[no-untyped-def]
    table = pd.DataFrame({m: np.roll(np.array(data), k) for k, m in enumerate(METRICS)})
    # the second comparison is written reversed: NUMBER OP NAME
    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
    text = f"{'not ' if negate else ''}({a} {op_a} {va}) {join} {vb} {flip[op_b]} {b}"
    xa, xb = table[a].to_numpy(), table[b].to_numpy()
    with np.errstate(invalid="ignore"):
        left = OPS[op_a](xa, va) & ~np.isnan(xa)
        right = OPS[op_b](xb, vb) & ~np.isnan(xb)
    expected = (left & right) if join == "and" else (left | right)
    if negate:  # 'not' binds tighter than and/or
        expected = (~left & right) if join == "and" else (~left | right)
    assert np.array_equal(parse_where(text).mask(table), expected)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("p_settle_36 <", 14, "ends early; expected a number"),
        ("p_settle_36 < 0.5 an", 19, "unexpected 'an'"),
        ("p_settle_99 < 0.5", 1, "unknown metric 'p_settle_99'"),
        ("p_settle_12 < 0.5 and foo > 1", 23, "unknown metric 'foo'"),
        ("__import__('os').system('x')", 11, "unexpected '('"),
        ("p_settle_36 $ 0.5", 13, "unexpected character '$'"),
        ("(p_settle_36 < 0.5", 19, "ends early"),
        ("   ", 1, "empty condition"),
    ],
)
def test_bad_conditions_point_at_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(WhereError) as info:
        parse_where(text)
    assert info.value.column == column and message in str(info.value)
    assert str(info.value).splitlines()[-1] == "  " + " " * (column - 1) + "^"


def test_flagship_discovery_through_the_cli(tmp_path: Path) -> None:
    """The cases counted are the rows of the sweep where the condition holds; boxes lie in the sampled ranges."""
    sc = load_scenario(FLAGSHIP)
    out = tmp_path / "d"
    args = ["discover", FLAGSHIP, "--where", "p_settle_12 < 0.5", "-n", "48", "--paths", "6", "--horizon", "12",
            "--threshold", "0.6", "--workers", "1", "--out", str(out), "--json", "-"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == doc["n"] == 48
    assert doc["cases"] == int((rows["p_settle_12"] < 0.5).sum())
    assert doc["share"] == pytest.approx(doc["cases"] / 48)
    params = dict(iter_params(sc))
    factors = set(model_factors(sc))
    for box in doc["boxes"]:
        assert box["density"] >= 0.6 and 0 < box["coverage"] <= 1 and 0 < box["mass"] <= 1
        for lim in box["limits"]:
            assert lim["parameter"] in factors and lim["source"] == params[lim["parameter"]].source
            assert lim["sampled_low"] <= lim["low"] <= lim["high"] <= lim["sampled_high"]
    bad = CliRunner().invoke(app, ["discover", FLAGSHIP, "--where", "p_settle_12 << 1"])
    assert bad.exit_code == 2 and "column 14" in bad.output
