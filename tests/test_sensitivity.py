"""Global sensitivity: the pipeline checked on known answers (Ishigami, linear models), then the flagship."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami
from typer.testing import CliRunner

from ceasefire.analysis.sensitivity import Factor, analyze_factors, scenario_factors
from ceasefire.cli import app
from ceasefire.errors import CeasefireError
from ceasefire.scenario.load import load_scenario
from ceasefire.scenario.params import Uniform

FLAGSHIP = "russia-ukraine-2026"


def uniform(low: float, high: float, source: str) -> Uniform:
    return Uniform(dist="uniform", low=low, high=high, source=source)


def ishigami_factors() -> list[Factor]:
    p = uniform(-math.pi, math.pi, "ishigami-homma-1990")
    return [Factor(f"x{i}", p.source, p.ppf) for i in (1, 2, 3)]


def ishigami(design: pd.DataFrame) -> np.ndarray:
    return Ishigami.evaluate(design[["x1", "x2", "x3"]].to_numpy())  # type: ignore[no-any-return]


def test_sobol_recovers_the_ishigami_indices() -> None:
    """Analytic indices for a=7, b=0.1 (Ishigami & Homma 1990; SALib's regression test)."""
    rows, y, evaluations = analyze_factors(ishigami_factors(), ishigami, "sobol", 2048, seed=1)
    assert evaluations == 2048 * (3 + 2) and y.size == evaluations
    by = {r["parameter"]: r for r in rows}
    s1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    st = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
    for x in s1:
        assert by[x]["S1"] == pytest.approx(s1[x], abs=0.04)
        assert by[x]["ST"] == pytest.approx(st[x], abs=0.04)
        assert 0 < by[x]["ST_conf"] < 0.1 and by[x]["source"] == "ishigami-homma-1990"
    assert [r["parameter"] for r in rows] == ["x1", "x2", "x3"]  # ranked by total index


def test_sobol_of_a_linear_model_is_its_variance_shares() -> None:
    """y = 3 a + b + 0 c with a, b, c uniform: S1 = ST = a_i^2 var_i / sum (no interactions)."""
    factors = [
        Factor("a", "s-a", uniform(0, 1, "s-a").ppf),
        Factor("b", "s-b", uniform(0, 2, "s-b").ppf),
        Factor("c", "s-c", uniform(5, 9, "s-c").ppf),
    ]
    rows, _, _ = analyze_factors(factors, lambda d: (3 * d["a"] + d["b"]).to_numpy(), "sobol", 1024, seed=2)
    var = {"a": 9 * 1 / 12, "b": 4 / 12, "c": 0.0}
    total = sum(var.values())
    by = {r["parameter"]: r for r in rows}
    for name, v in var.items():
        assert by[name]["S1"] == pytest.approx(v / total, abs=0.03)
        assert by[name]["ST"] == pytest.approx(v / total, abs=0.03)
    assert rows[-1]["parameter"] == "c"


def test_morris_elementary_effects_of_a_linear_model_are_exact() -> None:
    """A step of Delta in quantile moves y by slope * range * Delta: mu* = slope * range, sigma = 0."""
    factors = [
        Factor("a", "s", uniform(0, 2, "s").ppf),
        Factor("b", "s", uniform(-1, 1, "s").ppf),
        Factor("c", "s", uniform(0, 1, "s").ppf),
    ]
    rows, _, evaluations = analyze_factors(
        factors, lambda d: (3 * d["a"] - 0.5 * d["b"]).to_numpy(), "morris", 10, seed=4
    )
    assert evaluations == 10 * 4
    by = {r["parameter"]: r for r in rows}
    assert by["a"]["mu_star"] == pytest.approx(6.0, rel=1e-6) and by["a"]["sigma"] == pytest.approx(0, abs=1e-6)
    assert by["b"]["mu_star"] == pytest.approx(1.0, rel=1e-6) and by["b"]["mu"] == pytest.approx(-1.0, rel=1e-6)
    assert by["c"]["mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert [r["parameter"] for r in rows] == ["a", "b", "c"]


def test_the_same_seed_gives_the_same_indices() -> None:
    a, _, _ = analyze_factors(ishigami_factors(), ishigami, "sobol", 64, seed=9)
    b, _, _ = analyze_factors(ishigami_factors(), ishigami, "sobol", 64, seed=9)
    c, _, _ = analyze_factors(ishigami_factors(), ishigami, "sobol", 64, seed=10)
    assert a == b and a != c


def test_inputs_that_cannot_be_analyzed_are_refused() -> None:
    with pytest.raises(ValueError, match="power of 2"):
        analyze_factors(ishigami_factors(), ishigami, "sobol", 100)
    with pytest.raises(ValueError, match="unknown method 'fast'"):
        analyze_factors(ishigami_factors(), ishigami, "fast", 64)
    with pytest.raises(CeasefireError, match="no variance to attribute"):
        analyze_factors(ishigami_factors(), lambda d: np.zeros(len(d)), "sobol", 8)
    with pytest.raises(CeasefireError, match="undefined \\(NaN\\) in 1 of"):
        analyze_factors(ishigami_factors(), lambda d: np.r_[np.nan, np.arange(len(d) - 1.0)], "morris", 4)


def test_scenario_factors_carry_sources_and_follow_the_levers() -> None:
    sc = load_scenario(FLAGSHIP)
    sources = set(sc.sources) | {"assumption"}
    base = scenario_factors(sc)
    assert base and all(f.source in sources for f in base)
    with_aid = scenario_factors(sc, {"more-military-aid": 1.0})
    assert len(with_aid) == len(base) + 2


def test_grouped_sobol_of_an_additive_model_adds_the_shares() -> None:
    """y = 3a + b + c + d with {c, d} one group: the group's S1 = ST = (var c + var d) / var y."""
    factors = [Factor(k, f"s-{k}", uniform(0, 1, f"s-{k}").ppf) for k in "abcd"]
    rows, _, evaluations = analyze_factors(
        factors, lambda d: (3 * d["a"] + d["b"] + d["c"] + d["d"]).to_numpy(), "sobol", 1024, seed=5,
        groups=["a", "b", "cd", "cd"],
    )  # fmt: skip
    assert evaluations == 1024 * (3 + 2)
    by = {r["parameter"]: r for r in rows}
    assert by["cd"]["members"] == ["c", "d"] and by["cd"]["source"] == "s-c; s-d"
    for name, share in (("a", 9 / 12), ("b", 1 / 12), ("cd", 2 / 12)):
        assert by[name]["S1"] == pytest.approx(share, abs=0.03) and by[name]["ST"] == pytest.approx(share, abs=0.03)


def test_flagship_sobol_after_a_morris_screen_through_the_cli() -> None:
    """The screen ranks every parameter (sources named, JSON-safe); the top ones keep their own
    Sobol indices and the rest form one group."""
    sc = load_scenario(FLAGSHIP)
    args = ["sensitivity", FLAGSHIP, "-N", "4", "--paths", "4", "--horizon", "12", "--output", "casualties_A",
            "--screen", "3", "--screen-n", "2", "--workers", "1", "--json", "-"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    factors = scenario_factors(sc)
    d = len(factors)
    assert res["method"] == "sobol" and res["output"] == "casualties_A" and res["parameters"] == d
    screen = res["screen"]
    assert len(screen) == d and res["screen_evaluations"] == 2 * (d + 1)
    assert {r["parameter"] for r in screen} == {f.name for f in factors}
    sources = {f.name: f.source for f in factors}
    assert all(r["source"] == sources[r["parameter"]] for r in screen)
    mu = [r["mu_star"] for r in screen]
    assert mu == sorted(mu, reverse=True) and all(m >= 0 for m in mu)
    assert res["evaluations"] == 4 * (4 + 2) and len(res["rows"]) == 4
    top = [r["parameter"] for r in screen[:3]]
    assert {r["parameter"] for r in res["rows"]} == {*top, f"other parameters ({d - 3})"}
    grouped = next(r for r in res["rows"] if len(r["members"]) > 1)
    assert len(grouped["members"]) == d - 3 and not set(grouped["members"]) & set(top)
    assert 0 <= res["month0_share"] <= 1 and res["output_mean"] > 0
    bad = CliRunner().invoke(app, ["sensitivity", FLAGSHIP, "--output", "nope"])
    assert bad.exit_code == 2 and "unknown output 'nope'" in bad.output
