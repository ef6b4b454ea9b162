"""The typed parameters: the scenario's dotted paths and the model's tree agree, leaf for leaf; levers
change the leaf they target; the kernels import neither pydantic, nor pandas, nor the schema."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.model import levers
from ceasefire.model.params import (
    OPTIONAL,
    SAME_AS,
    Params,
    Rows,
    flat_paths,
    from_flat,
    get_at,
    leaves,
    map_leaves,
    replace_at,
    tree_path,
)
from ceasefire.run.sampling import sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import LIBRARY, list_scenarios, load_scenario
from ceasefire.scenario.schema import Scenario, iter_params, param_domain


@pytest.mark.parametrize("name", list_scenarios())
def test_every_parameter_of_the_file_is_a_leaf_of_the_tree_and_back(name: str) -> None:
    sc = load_scenario(name)
    st_ = structure_of(sc)
    values = sample_parameters(sc, 3, 1)
    params = params_of(st_, values)
    in_file = {path for path, _ in iter_params(sc)}
    in_tree = set(flat_paths(params, st_.objectives, st_.lever_ids, st_.terms))
    optional = {p for p in in_tree if p.rsplit(".", 1)[-1] in OPTIONAL} | set(SAME_AS)
    assert in_file <= in_tree
    assert in_tree - in_file <= optional  # only the leaves a scenario may leave out
    for path in in_file:  # the same value at the same path
        leaf = get_at(params, tree_path(path, st_.objectives, st_.lever_ids, st_.terms))
        assert leaf is values[path]


def test_each_part_of_the_file_and_its_typed_class_name_the_same_parameters() -> None:
    """Every parameter a part of the scenario file holds has a field of the same name in its typed class."""
    from ceasefire.model import params as typed
    from ceasefire.scenario.params import _ParamBase

    sc = load_scenario("russia-ukraine-2026")
    parts = [
        (sc.territory, typed.Territory),
        (sc.objectives[0], typed.Objective),
        (sc.attrition, typed.Attrition),
        (sc.sides["A"].forces, typed.Forces),
        (sc.sides["A"].economy, typed.Economy),
        (sc.sides["A"].stability, typed.Stability),
        (sc.leaders["A"].reasons, typed.Reasons),
        (sc.leaders["A"].successor, typed.Successor),
        (sc.leaders["A"], typed.Leader),
        (sc.ceasefire, typed.Ceasefire),
        (sc.levers[0], typed.LeverParams),
    ]
    for part, cls in parts:
        numbers = {name for name in type(part).model_fields if isinstance(getattr(part, name), _ParamBase)}
        numbers |= {name for name in OPTIONAL if name in type(part).model_fields}
        numbers |= {"reasons", "successor"} & set(type(part).model_fields)
        assert {f.name for f in fields(cls)} == numbers, type(part).__name__


def test_a_missing_parameter_is_named() -> None:
    sc = load_scenario(LIBRARY / "russia-ukraine-2026.toml")
    st_ = structure_of(sc)
    values = sample_parameters(sc, 2, 1)
    del values["sides.B.economy.reserves"]
    with pytest.raises(KeyError, match=r"sides\.B\.economy\.reserves"):
        from_flat(values, st_.objectives, st_.lever_ids, st_.terms)
    values = sample_parameters(sc, 2, 1)
    values.pop("leaders.A.resolve_doubt", None)
    typed = from_flat(values, st_.objectives, st_.lever_ids, st_.terms)
    assert typed.leaders.A.resolve_doubt == OPTIONAL["resolve_doubt"]


@cache
def flagship() -> Scenario:
    return load_scenario("russia-ukraine-2026")


def flagship_params(samples: int = 4) -> tuple[object, Params, dict[str, np.ndarray]]:
    sc = flagship()
    st_ = structure_of(sc)
    values = sample_parameters(sc, samples, 7)
    return st_, params_of(st_, values), values


def test_rows_read_like_the_tree_taken_on_the_rows() -> None:
    _, params, _ = flagship_params(8)
    rows = np.array([5, 0, 3])
    view, taken = Rows(params, rows), map_leaves(lambda leaf: leaf[rows] if np.ndim(leaf) else leaf, params)
    assert np.array_equal(view.leaders["A"].reasons.punishment, taken.leaders.A.reasons.punishment)
    assert np.array_equal(view.sides.B.economy.reserves, taken.sides.B.economy.reserves)
    nested = Rows(view, np.array([2, 0]))  # a view of a view: rows of the rows
    assert np.array_equal(nested.sides.A.forces.manpower, params.sides.A.forces.manpower[[3, 5]])


def test_replace_at_changes_one_leaf_only() -> None:
    st_, params, _ = flagship_params()
    path = tree_path("sides.A.economy.sanctions", st_.objectives, st_.lever_ids, st_.terms)  # type: ignore[attr-defined]
    changed = replace_at(params, path, np.zeros(4))
    assert np.array_equal(get_at(changed, path), np.zeros(4))
    before, after = dict(leaves(params)), dict(leaves(changed))
    assert [k for k in before if before[k] is not after[k]] == ["sides.A.economy.sanctions"]
    assert map_leaves(lambda a: a, params) == params  # the same leaves, the same tree


@settings(max_examples=30, deadline=None)
@given(
    x=st.floats(0.0, 2.0),
    on=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_a_lever_changes_its_target_where_carried_out_clipped_to_the_domain(x: float, on: list[bool]) -> None:
    sc = flagship()
    st_ = structure_of(sc)
    values = sample_parameters(sc, 4, 3)
    params = params_of(st_, values)
    carried = np.array(on)
    for j, spec in enumerate(st_.levers):
        lever = sc.levers[j]
        intensity = tuple(x if i == j else 0.0 for i in range(len(st_.levers)))
        mask = tuple(carried for _ in st_.levers)
        out = levers.apply(params, st_, intensity, mask)
        base = values[lever.target]
        per_unit = values[f"levers.{lever.id}.per_unit"]
        changed = base + per_unit * x if lever.effect == "add" else base * (1.0 + per_unit * x)
        low, high = param_domain(sc, lever.target)
        expected = np.where(carried & (x != 0.0), np.clip(changed, low, high), base)
        assert np.array_equal(get_at(out, spec.target), expected), lever.id
        others = {k: v for k, v in leaves(out) if k != ".".join(map(str, spec.target))}
        assert all(v is dict(leaves(params))[k] for k, v in others.items())


def test_the_kernels_import_neither_pydantic_nor_pandas_nor_the_schema() -> None:
    code = (
        "import sys, ceasefire.model.engine, ceasefire.model.calculus, ceasefire.model.screen\n"
        "bad = [m for m in ('pydantic', 'pandas', 'ceasefire.scenario.schema', 'ceasefire.run', 'jax') "
        "if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
