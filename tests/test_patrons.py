"""Patrons (:mod:`ceasefire.model.patrons`): a third party's calculus, its veto and its successor.

The toy ``tests/data/patron-toy.toml``: both leaders would sign ``cede-east`` at once (the war costs each
half a month of office a month, the terms nothing), but B's patron holds a veto and refuses it (the
terms give up the east, which his leader weighs fully and which the war still holds) until an election
in month 6 (a dated event on 2026-07-03) replaces him by a successor to whom the war costs two months
of office a month. Talks take two months.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ceasefire.errors import ScenarioError
from ceasefire.model import patrons, timeline
from ceasefire.model.engine import per_path, war_setup
from ceasefire.model.params import flat_paths, get_at, replace_at, tree_path
from ceasefire.model.rules import imagined_table
from ceasefire.model.structure import Structure
from ceasefire.model.war import Setup
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.sampling import sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import parse_scenario
from ceasefire.scenario.schema import Scenario, iter_params

DATA = Path(__file__).parent / "data"
TOY = DATA / "patron-toy.toml"
TEXT = TOY.read_text()
ELECTION, LAG = 6, 2


@cache
def toy(text: str = TEXT) -> Scenario:
    return parse_scenario(text, str(TOY))


def first_settlements(sc: Scenario, policy: str = "optimal") -> np.ndarray:
    return run(sc, RunSpec.from_scenario(sc, samples=4, paths=40, seed=3, policy=policy)).outcomes.first_settlement


# --- the acceptance test -------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_no_settlement_while_the_patron_refuses_then_within_the_lag_of_his_replacement(policy: str) -> None:
    first = first_settlements(toy(), policy)
    assert np.all(first >= ELECTION)  # none while the patron refuses (every path settles: -1 is none)
    assert np.all(first <= ELECTION + LAG)  # talks open in the election's month, signed after the lag
    assert np.all(first == ELECTION + LAG)


def test_the_veto_is_what_holds_the_deal_back() -> None:
    """The controls: without the election the patron never lets the deal through; without his veto the
    leaders sign after the talks' lag from month 0."""
    sc = toy()
    assert np.all(first_settlements(sc.model_copy(update={"events": []})) == -1)
    free = sc.model_copy(update={"patrons": [sc.patrons[0].model_copy(update={"veto": False})]})
    assert np.all(first_settlements(free) == LAG)


# --- the patron's calculus ----------------------------------------------------------------------


def _setup(sc: Scenario, paths: int = 4) -> tuple[Structure, Setup]:
    st = structure_of(sc)
    params = params_of(st, per_path(sample_parameters(sc, 1, 0), paths))
    event_u = np.full((paths, len(st.events)), 0.5)
    return st, war_setup(st, params, None, np.zeros((paths, len(st.levers))), event_u=event_u)


def _with(w: Setup, st: Structure, path: str, value: float) -> Setup:
    target = tree_path(path, st.objectives, st.lever_ids, st.terms, st.patron_ids)
    return replace(w, p=replace_at(w.p, target, np.full(np.shape(get_at(w.p, target)), value)))


def test_the_patron_accepts_terms_worth_at_least_going_on_less_the_wars_cost() -> None:
    """``psi H(k) >= psi H(war) - c``: H of ``cede-east`` is 0 to a patron who weighs the east; of the war,
    the share of the east still held."""
    st, w = _setup(toy())
    held = np.zeros((4, 1))  # the east untouched: the war holds all of it
    assert not patrons.accepts(w, st, 0, held, 0).any()  # the incumbent (psi 1, no cost) refuses
    assert patrons.accepts(w, st, 0, held, ELECTION).all()  # his successor (cost 2) accepts
    lost = np.ones((4, 1))  # the east taken: nothing left for the war to hold
    assert patrons.accepts(w, st, 0, lost, 0).all()
    half = np.full((4, 1), 0.5)  # H(war) = 0.5: accepted when the war costs him at least that
    for cost, ok in ((0.5, True), (0.49, False)):
        v = _with(w, st, "patrons.guarantor.leader.war_cost", cost)
        assert (patrons.accepts(v, st, 0, half, 0) == ok).all(), cost
    indifferent = _with(
        _with(w, st, "patrons.guarantor.leader.policy_weight", 0.0), st, "patrons.guarantor.leader.war_cost", 0.0
    )
    assert patrons.accepts(indifferent, st, 0, held, 0).all()  # nothing at stake: he lets it through


def test_the_leaders_imagined_wars_see_the_veto_until_the_election() -> None:
    st, w = _setup(toy())
    held = np.zeros((4, 1))
    for t in range(12):
        table = imagined_table(timeline.at(w, st, t), st, held, t)
        assert table is not None and (table.all() if t >= ELECTION else not table.any()), t


# --- the patron's aid -------------------------------------------------------------------------


AID_CUT = """
[[events]]
id = "aid-cut"
name = "The guarantor cuts its aid"
source = "test"
month = 3
changes = [{ target = "patrons.guarantor.aid_share", effect = "set", value = { value = 0.0, source = "test" } }]
"""


def test_an_event_cutting_a_patrons_aid_share_cuts_the_sides_aid_from_its_month() -> None:
    """The guarantor supplies 60% of B's aid: from month 3, B gets 40% of it (both military aid and budget
    support), A's is untouched."""
    st, w = _setup(toy(TEXT + AID_CUT))
    for t in range(8):
        p = timeline.at(w, st, t).p
        factor = 0.4 if t >= 3 else 1.0
        for name in ("aid_level", "finance_level"):
            assert np.allclose(getattr(p.sides.B.forces, name), factor * getattr(w.p.sides.B.forces, name)), (t, name)
            assert np.array_equal(getattr(p.sides.A.forces, name), getattr(w.p.sides.A.forces, name))
        assert np.array_equal(p.sides.B.forces.aid_equipment, w.p.sides.B.forces.aid_equipment)


def test_the_aid_cut_changes_the_war_from_its_month() -> None:
    sc = toy(TEXT + AID_CUT)
    spec = RunSpec.from_scenario(sc, samples=2, paths=20, seed=4, policy="myopic", record=True)
    cut = run(sc, spec).outcomes.trajectories
    plain = run(toy(), spec).outcomes.trajectories
    # rows: the start, then the end of each month; the cut acts in month 3 (row 4) on B's money and stocks
    for name in ("reserves_B", "equipment_B"):  # less, or as much in the months no aid arrives at all
        assert np.array_equal(cut[name][:4], plain[name][:4]), name
        assert np.all(cut[name][4:9] <= plain[name][4:9]), name
        assert np.mean(cut[name][8] < plain[name][8]) > 0.9, name
    assert np.array_equal(cut["reserves_A"][:9], plain["reserves_A"][:9])


# --- the file and the tree -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["patron-toy", "events-toy"])
def test_every_parameter_of_patrons_and_events_is_a_leaf_of_the_tree_and_back(name: str) -> None:
    sc = parse_scenario((DATA / f"{name}.toml").read_text(), name)
    st = structure_of(sc)
    values = sample_parameters(sc, 3, 1)
    params = params_of(st, values)
    in_file = {path for path, _ in iter_params(sc)}
    in_tree = set(flat_paths(params, st.objectives, st.lever_ids, st.terms, st.event_keys, st.patron_ids))
    assert {p for p in in_file if p.startswith(("patrons.", "events."))}
    assert in_file <= in_tree
    for path in in_file:
        if path.startswith("events."):
            continue  # an event's own numbers are not a target: they are read where the event is
        leaf = get_at(params, tree_path(path, st.objectives, st.lever_ids, st.terms, st.patron_ids))
        assert leaf is values[path]


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("weights = { hold-east = 1.0 }\n\n[patrons.successor]", "weights = { take-east = 1.0 }\n\n[patrons.successor]",
         "patrons.guarantor.leader.weights", "'take-east' is not an aim of side B, which the patron backs"),
        ("weights = { hold-east = 1.0 }\n\n[[events]]", "weights = { hold-east = 0.0 }\n\n[[events]]",
         "patrons.guarantor.successor.weights", "expected a positive weight on some aim of side B"),
        ('backs = "B"', 'backs = "C"', "patrons.guarantor.backs", "expected one of 'A' or 'B'"),
        ("aid_share = { value = 0.6", "aid_share = { value = 1.6", "patrons.guarantor.aid_share", "must lie in [0, 1]"),
    ],
)  # fmt: skip
def test_bad_patrons_are_refused_with_the_key_and_what_was_expected(
    old: str, new: str, key: str, expected: str
) -> None:
    assert old in TEXT
    with pytest.raises(ScenarioError) as info:
        parse_scenario(TEXT.replace(old, new, 1), "bad.toml")
    [(where, line, message)] = info.value.problems
    assert where == key
    assert expected in message
    assert line is not None
