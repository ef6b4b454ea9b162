"""Events with dates and levers that start late (:mod:`ceasefire.model.timeline`).

The toy ``tests/data/events-toy.toml``: B would sign at once, A's incumbent would not (the trappings of
militarism outweigh what the war costs him) but his successor would. A palace crisis (5% a month, an
uncertain event) may topple A's leader; a dated shock in month 8 raises what the war costs the incumbent
enough that he signs; a lever ``pressure`` that starts in month 5 does the same. So the settlement curve
(the share of paths settled by each month) has a known shape around each date.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ceasefire.errors import ScenarioError
from ceasefire.model import timeline
from ceasefire.model.engine import IMAGINED, TRUE_WORLD, Outcomes, RunConfig, draw_event_uniforms, per_path, war_setup
from ceasefire.model.params import get_at, leaves
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import parse_scenario
from ceasefire.scenario.schema import Scenario
from conftest import simulate_flat

DATA = Path(__file__).parent / "data"
TOY = DATA / "events-toy.toml"
TEXT = TOY.read_text()
HORIZON = 18
SHOCK, LEVER_START = 8, 5


@cache
def toy(extra: str = "") -> Scenario:
    """The toy, with ``extra`` TOML appended."""
    return parse_scenario(TEXT + extra, str(TOY))


def without_shock(sc: Scenario) -> Scenario:
    """The toy without its dated shock (the last event: the crisis keeps its own draws)."""
    assert sc.events[-1].id == "shock"
    return sc.model_copy(update={"events": sc.events[:-1]})


def curve(first: np.ndarray) -> np.ndarray:
    """The settlement curve: the share of paths settled by the end of each month."""
    return np.array([((first >= 0) & (first <= t)).mean() for t in range(HORIZON)])


def spec(sc: Scenario, **overrides: object) -> RunSpec:
    return RunSpec.from_scenario(sc, samples=4, paths=40, seed=3, **overrides)


# --- the acceptance test on the curve ----------------------------------------------------------


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_a_dated_event_changes_the_settlement_curve_from_its_month_on_and_not_before(policy: str) -> None:
    sc = toy()
    before = run(without_shock(sc), spec(sc, policy=policy)).outcomes.first_settlement
    after = run(sc, spec(sc, policy=policy)).outcomes.first_settlement
    a, b = curve(before), curve(after)
    assert np.array_equal(a[:SHOCK], b[:SHOCK])  # not before: the same curve ...
    early = (before >= 0) & (before < SHOCK)
    assert np.array_equal(early, (after >= 0) & (after < SHOCK))  # ... on the same paths, in the same months
    assert np.array_equal(before[early], after[early])
    # from its month on: every path still at war settles in the shock's month, which without it many do not
    assert np.all(after[~early] == SHOCK)
    assert b[SHOCK] == 1.0 and a[SHOCK] < 0.8
    assert np.all(b[SHOCK:] > a[SHOCK:])
    assert 0.1 < a[SHOCK - 1] < 0.9  # the curve before the date is not trivially flat


# --- levers that start late ----------------------------------------------------------------------


def test_a_lever_with_a_start_month_changes_no_parameter_before_it() -> None:
    sc = without_shock(toy())
    st = structure_of(sc)
    params = params_of(st, per_path(sample_parameters(sc, 2, 5), 3))
    lever_u = np.zeros((6, 1))  # carried out everywhere
    w = war_setup(st, params, {"pressure": 1.0}, lever_u, event_u=np.full((6, 1), 0.5))
    plain = war_setup(st, params, None, lever_u, event_u=np.full((6, 1), 0.5))
    target = ("leaders", "A", "reasons", "war_cost")
    for t in range(HORIZON):
        p, q = timeline.at(w, st, t).p, timeline.at(plain, st, t).p
        for (name, x), (_, y) in zip(leaves(p), leaves(q), strict=True):
            if name == "leaders.A.reasons.war_cost" and t >= LEVER_START:
                assert np.array_equal(x, np.asarray(y) + 1.0)
            else:
                assert np.array_equal(np.asarray(x), np.asarray(y)), (t, name)
    assert np.array_equal(get_at(w.p, target), get_at(plain.p, target))  # the start's setup too


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_a_lever_with_a_start_month_changes_nothing_before_it(policy: str) -> None:
    sc = without_shock(toy())
    plain = run(sc, spec(sc, policy=policy, record=True)).outcomes
    lever = run(sc, spec(sc, policy=policy, record=True, levers={"pressure": 1.0})).outcomes
    early = (plain.first_settlement >= 0) & (plain.first_settlement < LEVER_START)
    assert np.array_equal(plain.first_settlement[early], lever.first_settlement[early])
    assert np.all(lever.first_settlement[~early] == LEVER_START)  # it acts from its month
    assert (~early).mean() > 0.3
    for name, rows in plain.trajectories.items():  # the war itself: the start and months 0 .. 4
        if not name.startswith("gain_"):
            assert np.array_equal(rows[: LEVER_START + 1], lever.trajectories[name][: LEVER_START + 1]), name


# --- uncertain events ----------------------------------------------------------------------------


def test_an_uncertain_events_month_is_geometric() -> None:
    """Months drawn from a monthly probability ``p``: ``P(month = 0) = p`` and mean ``(1 - p) / p``, within
    Monte Carlo error; the draws are the war's own (another stream, another draw)."""
    sc, p = toy(), 0.05
    st = structure_of(sc)
    seeds = [Seeds.from_seed(9).path_seed(i) for i in range(4)]
    paths = 5000
    values = per_path(sample_parameters(sc, 4, 1), paths)
    params = params_of(st, values)
    u = draw_event_uniforms(seeds, TRUE_WORLD, paths, len(st.events))
    months = timeline.event_months(st, params, u)
    crisis, shock = months[:, 0], months[:, 1]
    n = crisis.size
    mean, sd = (1 - p) / p, np.sqrt(1 - p) / p
    assert abs(crisis.mean() - mean) < 4 * sd / np.sqrt(n)
    assert abs((crisis == 0).mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert np.all(shock == SHOCK)  # a dated event: the same month everywhere
    imagined = draw_event_uniforms(seeds, IMAGINED["A"], paths, len(st.events))
    assert not np.array_equal(u[:, 0], imagined[:, 0])
    # an event's draws do not depend on the events after it
    assert np.array_equal(draw_event_uniforms(seeds, TRUE_WORLD, paths, 1)[:, 0], u[:, 0])
    # without draws (the explanation reads the start only) the uncertain event does not happen
    assert np.array_equal(timeline.event_months(st, params, None), [[np.inf, SHOCK]])


def test_an_event_whose_month_is_uncertain_per_sample_happens_in_its_drawn_month() -> None:
    extra = """
[[events]]
id = "fall"
name = "A's leader falls"
source = "test"
within = { dist = "uniform", low = 2, high = 10, source = "test" }
changes = [{ leader = "A" }]
"""
    sc = toy(extra)
    config = RunConfig(horizon=HORIZON, policy="myopic")
    seeds = [Seeds.from_seed(2).path_seed(i) for i in range(6)]
    values = sample_parameters(sc, 6, 4)
    out = simulate_flat(sc, per_path(values, 30), seeds, 30, config)
    month = np.repeat(np.floor(values["events.fall.within"]), 30)
    assert np.all(out.removed["A"])
    assert np.all(out.removal_month["A"] <= month)  # by the hazard, the crisis, or this event
    assert np.mean(out.removal_month["A"] == month) > 0.3
    settled = out.first_settlement >= 0
    assert np.all(out.first_settlement[settled] <= np.minimum(month, SHOCK)[settled])  # his successor signs


# --- the screen, and JAX ------------------------------------------------------------------------


def _arrays(o: Outcomes) -> dict[str, np.ndarray]:
    out = {}
    for name in sorted(o.__dataclass_fields__):
        value = getattr(o, name)
        for key, arr in sorted(value.items()) if isinstance(value, dict) else [("", value)]:
            out[f"{name}.{key}"] = np.ascontiguousarray(arr)
    return out


@pytest.mark.parametrize("name", ["events-toy", "patron-toy"])
@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_the_screen_changes_nothing_with_events_and_patrons(name: str, policy: str) -> None:
    sc = parse_scenario((DATA / f"{name}.toml").read_text(), name)
    seeds = [Seeds.from_seed(5).path_seed(i) for i in range(3)]
    values = per_path(sample_parameters(sc, 3, 2), 50)
    config = RunConfig(horizon=HORIZON, policy=policy)
    on = _arrays(simulate_flat(sc, values, seeds, 50, config))
    off = _arrays(simulate_flat(sc, values, seeds, 50, replace(config, screen=False)))
    assert on.keys() == off.keys()
    for key in on:
        assert on[key].tobytes() == off[key].tobytes(), key
    assert (on["first_settlement."] >= 0).any()


@pytest.mark.slow  # compiling the month under JAX: about 2 minutes on a loaded 2-core machine
def test_jax_agrees_with_numpy_within_monte_carlo_error_with_events() -> None:
    """The toy under both engines (the myopic policy: one compiled call), the same parameter samples and
    independent noise and event draws: the per-sample difference of the means has mean zero."""
    pytest.importorskip("jax")
    sc = toy()
    samples = 16
    runs = [
        run(sc, RunSpec.from_scenario(sc, samples=samples, paths=64, seed=8, policy="myopic", backend=b))
        for b in ("numpy", "jax")
    ]
    stats = []
    for r in runs:
        o = r.outcomes
        first = np.where(o.first_settlement >= 0, o.first_settlement, HORIZON)
        stats.append(
            {
                "month of settlement": first,
                "settled before the shock": (o.first_settlement >= 0) & (o.first_settlement < SHOCK),
                "A removed before the shock": o.removed["A"] & (o.removal_month["A"] < SHOCK),
            }
        )
    sample = runs[0].outcomes.sample
    for key in stats[0]:
        means = [np.bincount(sample, weights=s[key].astype(float)) / np.bincount(sample) for s in stats]
        d = means[0] - means[1]
        se = d.std(ddof=1) / np.sqrt(samples)
        assert se > 0, key
        assert abs(d.mean()) <= 4 * se, f"{key}: {d.mean():.3g} (se {se:.3g})"
    for o in (r.outcomes for r in runs):
        assert np.all(o.first_settlement <= SHOCK)  # both apply the dated shock
        assert 0.2 < ((o.first_settlement >= 0) & (o.first_settlement < SHOCK)).mean() < 0.8


# --- validation ----------------------------------------------------------------------------------

EVENT = """
[[events]]
id = "bad"
name = "A bad event"
source = "test"
"""


def event(body: str) -> str:
    return EVENT + body + "\n"


def change(table: str, month: int = 3) -> str:
    return event(f"month = {month}\nchanges = [{table}]")


def set_to(target: str, value: float = 1.0) -> str:
    return change(f"{{ target = '{target}', value = {{ value = {value}, source = 'test' }} }}")


FALLS = "changes = [{ leader = 'A' }]"
ONE_OF = "give exactly one of month, date (scheduled), probability or within (uncertain); got "


@pytest.mark.parametrize(
    ("extra", "key", "expected"),
    [
        (event(f"month = 3\nprobability = {{ value = 0.1, source = 'test' }}\n{FALLS}"), "events.bad",
         ONE_OF + "month and probability"),
        (event(FALLS), "events.bad", ONE_OF + "none"),
        (event(f"month = 18\n{FALLS}"), "events.bad.month",
         "month 18 is beyond the horizon (18 months from 2026-01-01): it would never happen in the run"),
        (event(f"date = 2027-07-01\n{FALLS}"), "events.bad.date", "date 2027-07-01 (month 18) is beyond the horizon"),
        (event(f"date = 2025-12-01\n{FALLS}"), "events.bad.date",
         "date 2025-12-01 is before the scenario's start (2026-01-01)"),
        (change("{ lever = 'nope', intensity = 1 }"), "events.bad.changes.0",
         "unknown lever 'nope' (levers: pressure)"),
        (change("{ lever = 'pressure', intensity = 2 }"), "events.bad.changes.0",
         "lever 'pressure' intensity 2 is above its intensity_max 1"),
        (change("{ patron = 'nobody' }"), "events.bad.changes.0", "unknown patron 'nobody' (patrons: none)"),
        (set_to("leaders.A.reasons.war_costs"), "events.bad.changes.0",
         "target 'leaders.A.reasons.war_costs' is not a parameter of this scenario"),
        (set_to("sides.A.forces.manpower"), "events.bad.changes.0", "sets the war's state at the start"),
        (set_to("leaders.B.optimism"), "events.bad.changes.0",
         "is a leader's belief, fixed when he imagines the war at the start"),
        (set_to("levers.pressure.per_unit"), "events.bad.changes.0", "is a lever's or an event's own number"),
        (set_to("sides.A.forces.aid_reliability", 2.0), "events.bad.changes.0",
         "value 2 is outside the domain [0, 1] of 'sides.A.forces.aid_reliability'"),
        (change("{ what = 'A' }"), "events.bad.changes.0", "a change is a table with one of target"),
        (event("month = 3\nchanges = []"), "events.bad.changes", "expected at least 1 entry"),
        (EVENT.replace('"test"', '"nowhere"') + f"month = 3\n{FALLS}\n", "events.bad.source",
         "source 'nowhere' is not in [sources]"),
    ],
)  # fmt: skip
def test_bad_events_are_refused_with_the_key_and_what_was_expected(extra: str, key: str, expected: str) -> None:
    text = TEXT + extra
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    [(where, line, message)] = info.value.problems
    assert where == key
    assert expected in message
    assert line is not None and line > TEXT.count("\n")  # the line of the bad event


def test_a_late_lever_on_the_start_state_is_refused() -> None:
    text = TEXT.replace('target = "leaders.A.reasons.war_cost"', 'target = "sides.B.economy.reserves"')
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    [(where, _, message)] = info.value.problems
    assert where.startswith("levers.pressure")
    assert "start_month 5 > 0, but its target 'sides.B.economy.reserves' sets the war's state at the start" in message
