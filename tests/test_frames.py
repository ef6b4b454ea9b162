"""The Python API for notebooks: a run as a tidy frame and a Dataset, every analysis as a frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ceasefire
from ceasefire.analysis.claims import check_claims
from ceasefire.analysis.discover import Box, Discovery, Limit
from ceasefire.analysis.explain import Explanation, FactorPart
from ceasefire.analysis.levers import lever_effects, lever_grid
from ceasefire.analysis.price import price_of_peace
from ceasefire.analysis.sensitivity import SensitivityResult
from ceasefire.run.experiment import RunResult

DATA = Path(__file__).parent / "data"
FLAGSHIP = "russia-ukraine-2026"


HORIZON = 60
"""The flagship's own horizon: under Model 2 it hardly settles within 24 months, and the frames are checked
on paths that settle and paths that do not."""


@pytest.fixture(scope="module")
def result() -> RunResult:
    sc = ceasefire.load_scenario(FLAGSHIP)
    spec = ceasefire.RunSpec.from_scenario(sc, samples=4, paths=30, horizon=HORIZON, record=True, workers=1)
    return ceasefire.simulate(sc, spec)


def test_simulate_takes_a_spec_with_levers_and_workers() -> None:
    sc = ceasefire.load_scenario(FLAGSHIP)
    spec = ceasefire.RunSpec.from_scenario(sc, samples=2, paths=5, horizon=6, levers={"steady-aid": 1.0}, workers=1)
    out = ceasefire.simulate(sc, spec)
    assert out.spec.levers == {"steady-aid": 1.0} and out.outcomes.sample.size == 10


def test_paths_frame_has_a_row_per_path_and_missing_for_never(result: RunResult) -> None:
    frame = ceasefire.paths_frame(result)
    o = result.outcomes
    assert len(frame) == 4 * 30 and list(frame[["sample", "path"]].iloc[31]) == [1, 1]
    never = o.first_settlement < 0
    assert 0 < never.sum() < never.size  # the check below sees both kinds of path
    assert frame["first_settlement_month"].isna().to_numpy().tolist() == never.tolist()
    assert (frame["first_settlement_month"].dropna() >= 0).all()  # no -1 left
    assert frame["terms"].isna().to_numpy().tolist() == (o.first_terms < 0).tolist()
    assert frame["removal_month_A"].isna().to_numpy().tolist() == (o.removal_month["A"] < 0).tolist()
    summary = ceasefire.summarize(result)
    within12 = (frame["first_settlement_month"] < 12).fillna(False).mean()
    assert within12 == pytest.approx(summary.settle_within["12 months"].p)
    # the naive median now counts the paths that settled, as "median month, paths that settle" does
    assert frame["first_settlement_month"].median() == pytest.approx(np.median(o.first_settlement[~never]))
    assert frame.attrs["seed"] == result.spec.seed and frame.attrs["samples"] == 4


def test_paths_dataset_is_samples_by_paths_by_months(result: RunResult) -> None:
    ds = ceasefire.paths_dataset(result)
    assert dict(ds.sizes) == {"sample": 4, "path": 30, "month": HORIZON + 1, "parameter": len(result.parameters)}
    summary = ceasefire.summarize(result)
    for months in (6, 12, 24, 36):
        p = float(ds["settled_within"].sel(month=months).mean())
        assert p == pytest.approx(summary.settle_within[f"{months} months"].p)
    first = result.outcomes.first_settlement.reshape(4, 30)
    assert np.array_equal(np.isnan(ds["first_settlement_month"].values), first < 0)
    assert np.nanmin(ds["first_settlement_month"].values) >= 0
    at_war = result.outcomes.trajectories["at_war"]  # (months + 1, paths)
    assert np.array_equal(ds["at_war"].sel(sample=2, path=7).values, at_war[:, 2 * 30 + 7])
    path = "attrition.casualties_per_day"
    assert np.array_equal(ds["parameters"].sel(parameter=path).values, result.parameters[path])
    assert str(ds["date"].values[12])[:7] == "2027-02"  # the flagship starts in February 2026


def test_every_analysis_result_becomes_a_frame() -> None:
    toy = ceasefire.load_scenario(DATA / "levers-toy.toml")
    effects = lever_effects(toy, intensities=(0.5, 1.0), levers=["carrot", "no-effect"], samples=4, paths=8, seed=3,
                            certain=False)  # fmt: skip
    frame = ceasefire.to_frame(effects)
    assert frame["d_p12_certain"].dtype == float and frame["d_p12_certain"].isna().all()  # not computed: NaN
    assert len(frame) == 4 and set(frame["lever"]) == {"carrot", "no-effect"}
    assert frame["d_p12"].tolist() == [r.d_p12 for r in effects.rows]
    assert frame.attrs["baseline_p12"] == effects.baseline["p12"].value

    grid = lever_grid(toy, "carrot", "no-effect", intensities=(0.0, 1.0), samples=4, paths=8, seed=3)
    g = ceasefire.to_frame(grid)
    assert len(g) == 4 and g.loc[(g.intensity_a == 1.0) & (g.intensity_b == 0.0), "p12"].item() == grid.p12[1][0]

    price = price_of_peace(toy, 0.99, levers=["carrot", "no-effect"], search_samples=4, search_paths=8,
                           samples=4, paths=8, steps=3, popsize=3, maxiter=2)  # fmt: skip
    pf = ceasefire.to_frame(price)
    assert dict(zip(pf["lever"], pf["intensity"], strict=True)) == {k: price.package.get(k, 0.0) for k in pf["lever"]}
    assert pf.attrs["verdict"] == price.verdict and pf.attrs["probability"] == price.probability.value

    claims = check_claims(ceasefire.load_scenario(DATA / "claims-toy.toml"), samples=4, paths=10)
    cf = ceasefire.to_frame(claims)
    assert list(cf["id"]) == [c.id for c in claims.claims] and set(cf["verdict"]) <= {
        "supported", "contradicted", "undecided"}  # fmt: skip


def test_an_explanation_becomes_one_row_per_factor() -> None:
    parts = (FactorPart("a-legitimacy", "the war as legitimacy", "aron-2025", 5.0, 0.8, 0.6, False),
             FactorPart("a-casualties", "casualties", "ryan-2026", 3.0, 1.1, 0.4, True))  # fmt: skip
    e = Explanation("toy", "A", "Leader A", 0, 40.0, {"freeze": 31.5}, "freeze", {"freeze": 1.0}, "freeze", 1.0,
                    31.5, 8.5, 2.0, 0.5, parts, 3.0, {"samples": 8, "paths": 32})  # fmt: skip
    frame = ceasefire.to_frame(e)
    assert list(frame["id"]) == ["a-legitimacy", "a-casualties"]
    assert frame.attrs["gap"] == pytest.approx(frame.attrs["neutral_gap"] + frame["shapley"].sum())
    assert frame.attrs["samples"] == 8 and frame.attrs["terms"] == {"freeze": 31.5}
    assert e.to_frame().equals(frame)


def test_sensitivity_and_discovery_have_to_frame() -> None:
    rows = [{"parameter": "a", "source": "s", "S1": 0.5, "S1_conf": None, "ST": 0.6, "ST_conf": 0.1}]
    sens = SensitivityResult("toy", "p_settle_12", "sobol", 8, 80, 10, 1, 1, rows, 0.2, 0.1, None, 1.0)
    frame = sens.to_frame()
    assert frame.loc[0, "ST"] == 0.6 and np.isnan(frame.loc[0, "S1_conf"]) and frame.attrs["evaluations"] == 80
    limit = Limit("leaders.A.optimism", "ryan-2026", 0.1, 0.3, 0.0, 0.5, 0.01)
    found = Discovery("toy", "p_settle_36 < 0.5", 64, 10, 1, 0.8, 30, 0.47, [Box(0.4, 0.8, 0.2, 12, 15, [limit])],
                      None, 2.0)  # fmt: skip
    d = found.to_frame()
    assert d.loc[0, ["box", "parameter", "low", "high"]].tolist() == [1, "leaders.A.optimism", 0.1, 0.3]


def test_an_unknown_object_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="cannot make a table of a dict"):
        ceasefire.to_frame({})


def test_every_analysis_result_has_to_frame() -> None:
    """Each result :func:`to_frame` converts is a :class:`Tabular`: its ``.to_frame()`` is the same table."""
    import importlib

    from ceasefire.analysis.frames import CONVERTERS, Tabular

    modules = ["claims", "discover", "explain", "levers", "price", "sensitivity"]
    classes = {}
    for m in modules:
        mod = importlib.import_module(f"ceasefire.analysis.{m}")
        classes.update({n: getattr(mod, n) for n in CONVERTERS if hasattr(mod, n)})
    assert set(classes) == set(CONVERTERS)
    assert all(issubclass(c, Tabular) for c in classes.values())
