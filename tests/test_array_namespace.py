"""One kernel for both engines: the model's pure kernels compute with their arguments' array library.

:func:`ceasefire.model.xp.namespace` picks ``jax.numpy`` for JAX arrays and NumPy otherwise,
without importing JAX; each kernel shared with the JAX engine gives the same numbers on NumPy and on
JAX arrays (64-bit, eager and jitted), and importing the NumPy model does not import JAX.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.model import attrition, bargaining, bargaining_range, economy, hazard, leader
from ceasefire.model.xp import namespace

Rng = np.random.Generator


def test_namespace_is_numpy_for_numpy_arrays_and_scalars() -> None:
    assert namespace() is np
    assert namespace(np.ones(3), np.float64(2.0), 1.5, 3, True, np.zeros((2, 2), dtype=bool)) is np
    assert namespace([1.0, 2.0], None, "text") is np


def test_namespace_is_jax_numpy_for_jax_arrays_and_tracers() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    assert namespace(jnp.ones(3)) is jnp
    assert namespace(np.ones(3), 2.0, jnp.zeros(())) is jnp  # any one JAX argument
    seen = []

    def traced(x: Any) -> Any:
        seen.append(namespace(np.ones(2), x))
        return x

    jax.jit(traced)(np.ones(2))
    jax.vmap(traced)(np.ones((3, 2)))
    assert seen == [jnp, jnp]


def test_the_numpy_model_does_not_import_jax() -> None:
    """Importing every module of ``ceasefire.model`` but the JAX engine's, and running shared kernels
    on NumPy arrays, leaves JAX unimported (a subprocess: this one may have imported it)."""
    code = """
import importlib, pkgutil, sys
import numpy as np
import ceasefire.model as model
for info in pkgutil.iter_modules(model.__path__):
    if info.name not in ("jax", "jax_engine"):
        importlib.import_module(f"ceasefire.model.{info.name}")
import ceasefire.model.bargaining_range as br
from ceasefire.model import attrition, hazard
attrition.combat_power(np.ones(3), 1.0, 0.5, np.ones(3), 0.3)
hazard.probability(np.ones(3))
br.bargaining_range(np.zeros(2), 0.0, np.zeros(2), 0.0)
leaked = sorted(m for m in sys.modules if m == "jax" or m.startswith(("jax.", "jaxlib")))
assert not leaked, leaked
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------------------------
# every shared kernel: the same numbers on NumPy and on JAX arrays


@dataclass(frozen=True)
class Case:
    """A shared kernel, its arguments for ``n`` paths, and which of them go to JAX as arrays."""

    kernel: Callable[..., Any]
    arguments: Callable[[Rng, int], tuple[Any, ...]]
    static: tuple[int, ...] = ()
    """Positions of arguments that stay as they are (the scenario's structure, counts, flags)."""


def per_path(rng: Rng, n: int, low: float, high: float) -> Any:
    """A per-path array ``(n,)``, or (at random) a per-sample scalar as the JAX engine passes one."""
    return rng.uniform(low, high, n) if rng.random() < 0.75 else np.asarray(rng.uniform(low, high))


def u(rng: Rng, n: int, low: float = 0.1, high: float = 2.0) -> Any:
    return rng.uniform(low, high, n)


def bounds(rng: Rng, n: int) -> Any:
    """Cumulative objective areas, per path or the same on every path."""
    k = int(rng.integers(1, 5))
    shape = (n, k) if rng.random() < 0.5 else (k,)
    return np.cumsum(np.concatenate([np.zeros((*shape[:-1], 1)), rng.uniform(10, 1000, shape)], axis=-1), axis=-1)


def structure(rng: Rng, terms: int) -> tuple[Any, Any, Any]:
    aims = int(rng.integers(1, 6))
    return rng.random((aims, terms)) < 0.5, rng.random(aims) < 0.3, rng.uniform(0.1, 1.0, aims)


def attainment(rng: Rng, n: int, by_terms: bool) -> tuple[Any, ...]:
    granted, lost, weights = structure(rng, int(rng.integers(1, 6)))
    return granted, rng.uniform(0, 1, (n, granted.shape[0])), lost, weights, None, by_terms


def victory(rng: Rng, n: int, by_terms: bool) -> tuple[Any, ...]:
    terms = int(rng.integers(1, 6))
    shape = (terms, n) if by_terms else (n, terms)
    return (
        rng.uniform(0, 1, shape),
        per_path(rng, n, 0.5, 1.2),
        rng.uniform(-0.2, 0.3, shape),
        per_path(rng, n, 0, 0.5),
        per_path(rng, n, 0.5, 1.5),
        by_terms,
    )


def gains(rng: Rng, n: int) -> tuple[Any, ...]:
    terms = int(rng.integers(1, 6))
    return rng.normal(0, 1, (n, terms)), rng.normal(0, 1, (n, terms)), rng.random(terms) < 0.8


def peace_grid(rng: Rng, n: int) -> tuple[Any, ...]:
    values = np.sort(rng.normal(0, 1, (n, 11)), axis=1)
    values[rng.random(n) < 0.2] = 0.5  # flat rows: the grid's step where the values do not rise
    fight = rng.normal(0, 1.5, n)
    fight[rng.random(n) < 0.1] = np.nan
    return values, np.linspace(0, 1, 11), fight


def reservations(rng: Rng, n: int) -> tuple[Any, ...]:
    def one() -> Any:
        r = rng.uniform(-0.2, 1.0, n)
        pick = rng.random(n)
        return np.where(pick < 0.1, np.nan, np.where(pick < 0.2, -np.inf, np.where(pick < 0.3, np.inf, r)))

    return one(), per_path(rng, n, -0.2, 0.2), one(), per_path(rng, n, -0.2, 0.2)


def months(rng: Rng, n: int) -> Any:
    return int(rng.integers(1, 13))


def fight(rng: Rng, n: int) -> tuple[Any, ...]:
    rate, delta = u(rng, n, 0.0, 0.2), u(rng, n, 0.9, 1.0)
    rate[rng.random(n) < 0.2], delta[rng.random(n) < 0.2] = 0.0, 1.0  # r = 1: the annuity's limit
    return u(rng, n, 1, 2), rate, per_path(rng, n, 1, 20), delta, months(rng, n)


CASES = {
    "combat_power": Case(
        attrition.combat_power, lambda r, n: (u(r, n, -0.1, 2), u(r, n), u(r, n), u(r, n, -0.1, 2), u(r, n))
    ),
    "expected_losses": Case(
        attrition.expected_losses, lambda r, n: (u(r, n, 100, 1e4), u(r, n), per_path(r, n, 0.5, 2))
    ),
    "intensity_factor": Case(attrition.intensity_factor, lambda r, n: (r.normal(0, 1, n), per_path(r, n, 0, 0.5))),
    "front_change": Case(
        attrition.front_change,
        lambda r, n: (per_path(r, n, -50, 50), u(r, n), u(r, n, 0, 3), u(r, n, 0, 30), r.normal(0, 1, n)),
    ),
    "objective_progress": Case(attrition.objective_progress, lambda r, n: (u(r, n, -200, 3000), bounds(r, n))),
    "equipment_step": Case(attrition.equipment_step, lambda r, n: tuple(u(r, n, 0, 2) for _ in range(9))),
    "log_price_step": Case(
        economy.log_price_step, lambda r, n: (r.normal(0, 0.3, n), u(r, n, 0, 0.3), u(r, n, 0, 0.2), r.normal(0, 1, n))
    ),
    "treasury_step": Case(
        economy.treasury_step, lambda r, n: (u(r, n, -1, 5), u(r, n, 0, 3), u(r, n, 0, 3), u(r, n, 0, 1))
    ),
    "economic_pain": Case(
        economy.economic_pain,
        lambda r, n: (u(r, n, 0, 2), u(r, n, 0, 1), r.random(n) < 0.5, u(r, n, 1, 3), per_path(r, n, 0, 2)),
    ),
    "stability_step": Case(
        economy.stability_step,
        lambda r, n: (
            u(r, n, 0, 1),
            u(r, n, 0, 1),
            u(r, n, 0, 0.2),
            u(r, n, 0, 2),
            u(r, n, 0, 0.5),
            u(r, n, -1, 3),
            u(r, n, 0, 0.2),
            u(r, n, 0, 0.1),
            r.normal(0, 1, n),
        ),
    ),
    "monthly_rate_from_annual": Case(hazard.monthly_rate_from_annual, lambda r, n: (np.append(u(r, n, 0, 1), 1.0),)),
    "probability": Case(hazard.probability, lambda r, n: (u(r, n, 0, 3),)),
    "state_log_hazard": Case(hazard.state_log_hazard, lambda r, n: tuple(u(r, n, -1, 2) for _ in range(6))),
    "war_rate": Case(hazard.war_rate, lambda r, n: (u(r, n, 0, 0.1), u(r, n, -2, 2))),
    "peace_base_rate": Case(
        hazard.peace_base_rate, lambda r, n: (u(r, n, 0, 0.1), u(r, n, -2, 2), per_path(r, n, 0, 1))
    ),
    "transition_shock": Case(
        hazard.transition_shock, lambda r, n: (u(r, n, 0, 0.3), u(r, n, -0.2, 1.2), per_path(r, n, 0.5, 3))
    ),
    "stationary_value": Case(
        leader.stationary_value, lambda r, n: (u(r, n, 1, 2), u(r, n, 0, 0.2), u(r, n, 1, 20), u(r, n, 0.9, 0.999))
    ),
    "fight_value": Case(leader.fight_value, lambda r, n: (*fight(r, n), u(r, n, 0, 100)), static=(4,)),
    "fight_terms": Case(leader.fight_terms, fight, static=(4,)),
    "weighted_attainment": Case(
        bargaining.weighted_attainment, lambda r, n: attainment(r, n, False), static=(0, 2, 3, 4, 5)
    ),
    "weighted_attainment by terms": Case(
        bargaining.weighted_attainment, lambda r, n: attainment(r, n, True), static=(0, 2, 3, 4, 5)
    ),
    "victory_from_score": Case(bargaining.victory_from_score, lambda r, n: victory(r, n, False), static=(5,)),
    "victory_from_score by terms": Case(bargaining.victory_from_score, lambda r, n: victory(r, n, True), static=(5,)),
    "choose_terms": Case(bargaining.choose_terms, gains),
    "breakdown_probability": Case(
        bargaining.breakdown_probability,
        lambda r, n: (
            per_path(r, n, 0, 0.2),
            r.random(n) < 0.5,
            per_path(r, n, 0, 1),
            per_path(r, n, 1, 3),
            r.integers(0, 4, n).astype(float),
        ),
    ),
    "reservation_score": Case(bargaining_range.reservation_score, peace_grid),
    "bargaining_range": Case(bargaining_range.bargaining_range, reservations),
}


def outputs(x: Any) -> list[np.ndarray]:
    return [np.asarray(a) for a in (x if isinstance(x, tuple) else (x,))]


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([1, 5, 64]))
def test_a_shared_kernel_gives_numpy_s_numbers_on_jax_arrays(name: str, seed: int, n: int) -> None:
    """Eager and jitted, in 64-bit, JAX's numbers equal NumPy's to 1e-12 (relative) and integer and
    boolean outputs exactly; the outputs are JAX arrays (computed by ``jax.numpy``, not NumPy)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    case = CASES[name]
    args = case.arguments(np.random.default_rng(seed), n)
    with np.errstate(invalid="ignore", divide="ignore"):  # the annuity's limit r = 1: 0 / 0 on the side not taken
        expected = outputs(case.kernel(*args))
    dynamic = [i for i in range(len(args)) if i not in case.static]

    def on_jax(*values: Any) -> Any:
        full = list(args)
        for i, v in zip(dynamic, values, strict=True):
            full[i] = v
        return case.kernel(*full)

    with jax.enable_x64(True):
        values = [jnp.asarray(args[i]) for i in dynamic]
        eager, jitted = on_jax(*values), jax.jit(on_jax)(*values)
        for got in (eager, jitted):
            assert all(isinstance(a, jax.Array) for a in (got if isinstance(got, tuple) else (got,)))
            got_np = outputs(got)
            assert len(got_np) == len(expected)
            for g, e in zip(got_np, expected, strict=True):
                assert g.shape == e.shape and g.dtype.kind == e.dtype.kind
                if e.dtype.kind == "f":
                    np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
                else:
                    assert np.array_equal(g, e)
