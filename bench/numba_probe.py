"""How fast would the war's month run as one compiled loop per path? A probe for a team decision.

Not part of the package and not run by ``make bench``: it needs Numba, which is not a dependency of
ceasefire (the brief lists the chosen ones). It measures what ``docs/performance.md`` names as the
way to come closer to 2 x 10^7 path-steps per second on the CPU: a compiled kernel that keeps a
path's state in registers over the months, one pass over memory, instead of NumPy's few hundred
passes a month. Install Numba beside the project to run it, e.g.::

    .venv/bin/python -m pip install --target /tmp/nbpkgs --no-deps numba==0.68.1 llvmlite==0.50.0
    PYTHONPATH=/tmp/nbpkgs .venv/bin/python bench/numba_probe.py --paths 1e5,1e6 --repeats 5

It covers the flagship's ``war`` configuration of ``bench/jax_backend.py`` (the war's dynamics, both
economies, the leaders' removal; no deal allowed), the part that is the same arithmetic in every
policy, and compares in the same run, on the same parameters and the same noise:

``numpy``         the engine's :func:`ceasefire.model.engine.simulate` (its noise included);
``numba``         the same steps as one ``@njit`` loop over months per path, one thread and all
                  threads (``prange`` over paths), timed with and without NumPy's drawing of the noise;
``noise``         drawing the noise alone (:func:`ceasefire.model.engine._noise`), the ceiling of any kernel
                  that reads the same random numbers.

It also reports how far the compiled loop's results are from the engine's: the same formulas, but
NumPy's vectorised ``exp`` and ``power`` could differ from the C library's in the last bit, and the
removals, comparisons with uniforms, on a path or two with them (on the run reported in
``docs/performance.md`` no removal differed, and territory and casualties by at most 7e-16
relative). And the cost of ``power``, ``exp`` and ``expm1`` per value, called one value at a time
from compiled code and as NumPy's ufuncs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import numba
except ImportError:  # the kernel then runs as plain Python: what the test suite checks it with
    numba = None

from jax_backend import flagship, timed  # bench/ is on the path: this script's folder

from ceasefire.model import engine
from ceasefire.model.world import World
from ceasefire.scenario.schema import SIDES

SIDE_KEYS = {
    "f": (
        "manpower_exponent", "equipment_exponent", "aid_reliability", "recruitment", "recruitment_pain_elasticity",
        "separation", "permanent_loss_share", "equipment_loss", "equipment_production", "equipment_restoration",
        "aid_equipment", "aid_level", "aid_finance",
    ),
    "e": (
        "commodity_reversion", "commodity_volatility", "commodity_revenue", "sanctions", "revenue",
        "spending_other", "spending_war", "reserve_share", "exhaustion_pain",
    ),
    "st": ("initial", "recovery", "pain_sensitivity", "casualty_sensitivity", "noise_sd"),
    "ld": ("casualty_hazard", "pain_hazard", "instability_hazard", "successor.hazard_multiplier"),
}  # fmt: skip
SIDE_ROWS = [f"{group}.{key}" for group, keys in SIDE_KEYS.items() for key in keys] + [
    "manpower0", "equipment0", "c0", "c_ref", "deficit0", "spend0", "base_rate",
    "manpower", "equipment", "storage", "reserves",
]  # fmt: skip
ROW = {name: j for j, name in enumerate(SIDE_ROWS)}
# the rows as constants, which the compiled kernel reads as literals
(
    MANPOWER_EXPONENT,
    EQUIPMENT_EXPONENT,
    AID_RELIABILITY,
    RECRUITMENT,
    RECRUITMENT_PAIN_ELASTICITY,
    SEPARATION,
    PERMANENT_LOSS_SHARE,
    EQUIPMENT_LOSS,
    EQUIPMENT_PRODUCTION,
    EQUIPMENT_RESTORATION,
    AID_EQUIPMENT,
    AID_LEVEL,
    AID_FINANCE,
    COMMODITY_REVERSION,
    COMMODITY_VOLATILITY,
    COMMODITY_REVENUE,
    SANCTIONS,
    REVENUE,
    SPENDING_OTHER,
    SPENDING_WAR,
    RESERVE_SHARE,
    EXHAUSTION_PAIN,
    INITIAL,
    RECOVERY,
    PAIN_SENSITIVITY,
    CASUALTY_SENSITIVITY,
    NOISE_SD,
    CASUALTY_HAZARD,
    PAIN_HAZARD,
    INSTABILITY_HAZARD,
    SUCCESSOR_MULTIPLIER,
    MANPOWER0,
    EQUIPMENT0,
    C0,
    C_REF,
    DEFICIT0,
    SPEND0,
    BASE_RATE,
    MANPOWER,
    EQUIPMENT,
    STORAGE,
    RESERVES,
) = range(len(SIDE_ROWS))
WORLD_ROWS = ["mu", "gain_sd", "theta", "q_fire", "int_sd", "area", "held"]
"""The :class:`World` attributes the kernel reads, in the order of its rows of ``w``."""
WORK_ROWS = 10
"""Rows of a path's state in the kernel's ``work`` array ``(paths, WORK_ROWS, 2)``, one per quantity."""


def pack(world: World) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's inputs: ``(n, 2, side rows)`` per path and side (a path's parameters contiguous,
    read once into the cache) and ``(world rows, n)``."""
    sides = np.empty((world.n, 2, len(SIDE_ROWS)))
    for i, s in enumerate(SIDES):
        sd, before = world.sides[s], world.before[s]
        groups = {"f": sd.f, "e": sd.e, "st": sd.st, "ld": sd.ld}
        for group, keys in SIDE_KEYS.items():
            for key in keys:
                sides[:, i, ROW[f"{group}.{key}"]] = groups[group][key]
        extra = {
            "manpower0": before.f["manpower"], "equipment0": before.f["equipment"], "c0": world.c0[s],
            "c_ref": world.c_ref[s], "deficit0": world.deficit0[s], "spend0": world.spend0[s],
            "base_rate": sd.base_rate, "manpower": world.manpower[s], "equipment": world.equipment[s],
            "storage": world.storage[s], "reserves": world.reserves[s],
        }  # fmt: skip
        for key, value in extra.items():
            sides[:, i, ROW[key]] = value
    return sides, np.stack([getattr(world, name) for name in WORLD_ROWS])


def make_kernel(parallel: bool) -> Callable[..., Any]:
    """The war's months for every path: the arithmetic of ``World.step`` at war and the engine's removals.

    One path at a time (``prange`` over paths when ``parallel``), its state in a few scalars and its
    own row of ``work``, the months in order: the same formulas as the engine's, term for term.
    Compiled by Numba when it is installed, plain Python otherwise (slow, but the same arithmetic:
    ``tests/test_numba_probe.py`` checks it against the engine, so that this copy cannot drift).
    """
    rng = numba.prange if numba is not None and parallel else range

    def war_months(sides, w, z, u, work, held_out, cas_out, removal_out):  # type: ignore[no-untyped-def]
        months, n = z.shape[0], z.shape[1]
        for i in rng(n):
            mu, gain_sd, theta, q, int_sd, area, held = w[0, i], w[1, i], w[2, i], w[3, i], w[4, i], w[5, i], w[6, i]
            # the path's state: views of its own row of the work array (no allocation per path)
            man, eq, store, res, stab = work[i, 0], work[i, 1], work[i, 2], work[i, 3], work[i, 4]
            pain, cas, ratio, power, successor = work[i, 5], work[i, 6], work[i, 7], work[i, 8], work[i, 9]
            removal = removal_out[:, i]
            pain[:] = 0.0
            cas[:] = 0.0
            ratio[:] = 1.0
            successor[:] = 0.0
            removal[:] = -1
            for s in range(2):
                p = sides[i, s]
                man[s], eq[s], store[s], res[s], stab[s] = (
                    p[MANPOWER],
                    p[EQUIPMENT],
                    p[STORAGE],
                    p[RESERVES],
                    p[INITIAL],
                )
            log_price = 0.0
            for t in range(months):
                zt, ut = z[t, i], u[t, i]
                for s in range(2):
                    p = sides[i, s]
                    m_rel = max(man[s], 0.0) / p[MANPOWER0]
                    power[s] = (m_rel ** p[MANPOWER_EXPONENT]) * (
                        max(eq[s] / p[EQUIPMENT0], 0.0) ** p[EQUIPMENT_EXPONENT]
                    )
                rho = power[0] / max(power[1], 1e-12)
                intensity = np.exp(int_sd * zt[1] - 0.5 * int_sd * int_sd)
                held = min(max(held + (mu * rho**theta + gain_sd * zt[0]), 0.0), area)
                for s in range(2):
                    p = sides[i, s]
                    flow = 1.0 if ut[2 + s] < p[AID_RELIABILITY] else 0.0
                    hit = power[1 - s] ** q
                    # the fighting: losses, manpower, equipment
                    losses = p[C0] * hit * intensity
                    cas[s] += losses
                    ratio[s] = losses / p[C_REF]
                    recruits = p[RECRUITMENT] * np.exp(-p[RECRUITMENT_PAIN_ELASTICITY] * pain[s])
                    man[s] = max(man[s] * (1.0 - p[SEPARATION]) - p[PERMANENT_LOSS_SHARE] * losses + recruits, 1.0)
                    lost = eq[s] * min(p[EQUIPMENT_LOSS] * hit * intensity, 1.0)
                    restored = min(store[s], p[EQUIPMENT_RESTORATION])
                    delivered = p[AID_EQUIPMENT] * p[AID_LEVEL] * flow
                    eq[s] = max(eq[s] - lost + p[EQUIPMENT_PRODUCTION] + restored + delivered, 0.0)
                    store[s] = store[s] - restored
                    # the economy: A sells the commodity at a mean-reverting price, B at the start's
                    price = 1.0
                    if s == 0:
                        log_price = (1.0 - p[COMMODITY_REVERSION]) * log_price + p[COMMODITY_VOLATILITY] * zt[2]
                        price = np.exp(log_price)
                    commodity = p[COMMODITY_REVENUE] * price * (1.0 - p[SANCTIONS])
                    revenue = p[REVENUE] + commodity + p[AID_FINANCE] * p[AID_LEVEL] * flow
                    balance = revenue - (p[SPENDING_OTHER] + p[SPENDING_WAR] * 1.0)
                    after = res[s] + p[RESERVE_SHARE] * balance
                    deficit = max(-balance, 0.0)
                    exhausted = 1.0 if (after <= 0.0 and deficit > 0.0) else 0.0
                    res[s] = max(after, 0.0)
                    pain[s] = (
                        max(deficit - p[DEFICIT0], 0.0) / p[SPEND0]
                        + p[EXHAUSTION_PAIN] * exhausted * deficit / p[SPEND0]
                    )
                    st = stab[s] + p[RECOVERY] * (p[INITIAL] - stab[s]) - p[PAIN_SENSITIVITY] * pain[s]
                    st = st - p[CASUALTY_SENSITIVITY] * max(ratio[s] - 1.0, 0.0) + p[NOISE_SD] * zt[3 + s]
                    stab[s] = min(max(st, 0.0), 1.0)
                # the leaders' removal, after the month's fighting
                for s in range(2):
                    p = sides[i, s]
                    # a successor's hazard, as the engine works it out (nothing this run records reads it)
                    rate0 = p[BASE_RATE] * p[SUCCESSOR_MULTIPLIER] if successor[s] > 0.0 else p[BASE_RATE]
                    slog = (
                        p[CASUALTY_HAZARD] * (ratio[s] - 1.0)
                        + p[PAIN_HAZARD] * pain[s]
                        + p[INSTABILITY_HAZARD] * (p[INITIAL] - stab[s])
                    )
                    if ut[s] < -np.expm1(-(rate0 * np.exp(slog))):
                        if removal[s] < 0:
                            removal[s] = t
                        successor[s] = 1.0
            held_out[i] = held
            for s in range(2):
                cas_out[s, i] = cas[s]

    if numba is None:
        return war_months
    return numba.njit(parallel=parallel, fastmath=False, cache=False)(war_months)  # type: ignore[no-any-return]


def war_outcomes(
    kernel: Callable[..., Any], scenario: Any, params: dict[str, np.ndarray], seed: Any, paths: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sample's war through ``kernel``, on the engine's noise: A's territory at the end, each side's
    casualties ``(2, paths)`` and each leader's month of removal ``(2, paths)`` (-1: never)."""
    from ceasefire.model.valuation import Structure

    st = Structure.from_scenario(scenario)
    lever_u, z, u = engine._noise([seed], engine.TRUE_WORLD, paths, horizon, len(st.levers))
    sides, w = pack(engine._world(scenario, st, params, {}, lever_u))
    held, cas, removal = np.empty(paths), np.empty((2, paths)), np.empty((2, paths), dtype=np.int64)
    kernel(sides, w, z, u, np.empty((paths, WORK_ROWS, 2)), held, cas, removal)
    return held, cas, removal


def median_of(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats))


def measure(paths: int, horizon: int, repeats: int, seed: int) -> dict[str, Any]:
    from ceasefire.model.engine import RunConfig, per_path
    from ceasefire.model.valuation import Structure
    from ceasefire.run.experiment import candidate_parameters
    from ceasefire.run.sampling import Seeds

    sc = flagship()
    tree = Seeds.from_seed(seed)
    params = per_path(candidate_parameters(sc, 1, tree, 0), paths)
    seeds = [tree.path_seed(0)]
    config = RunConfig(horizon=horizon, allow_settlement=False, bargaining_range=False)
    st = Structure.from_scenario(sc)

    def numpy_run() -> engine.Outcomes:
        return engine.simulate(sc, params, seeds, paths, config)

    def noise() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return engine._noise(seeds, engine.TRUE_WORLD, paths, horizon, len(st.levers))

    kernels = {"one_thread": make_kernel(False), "all_threads": make_kernel(True)}
    held = np.empty(paths)
    cas = np.empty((2, paths))
    removal = np.empty((2, paths), dtype=np.int64)
    work = np.empty((paths, WORK_ROWS, 2))

    def setup() -> tuple[np.ndarray, np.ndarray]:
        return pack(engine._world(sc, st, params, {}, noise()[0]))

    def numba_run(kernel: Callable[..., Any], threads: int) -> None:
        # the parameters as packed once (per path here; a real kernel would read each sample's once)
        _, z, u = noise()
        numba.set_num_threads(threads)
        kernel(sides, w, z, u, work, held, cas, removal)

    _, z, u = noise()
    sides, w = setup()
    row: dict[str, Any] = {"paths": paths, "horizon": horizon, "path_steps": paths * horizon, "repeats": repeats}
    steps = paths * horizon
    t_np = median_of(numpy_run, repeats)
    t_noise = median_of(noise, repeats)
    row["numpy_engine_path_steps_per_s"] = steps / t_np
    row["noise_only_path_steps_per_s"] = steps / t_noise
    row["world_and_pack_seconds"] = median_of(setup, repeats)
    row["numpy_engine_seconds"] = t_np
    for name, kernel in kernels.items():
        threads = 1 if name == "one_thread" else numba.config.NUMBA_NUM_THREADS
        numba.set_num_threads(threads)
        kernel(sides, w, z, u, work, held, cas, removal)  # compiles
        t_kernel = median_of(lambda k=kernel: k(sides, w, z, u, work, held, cas, removal), repeats)
        t_total = median_of(lambda k=kernel, th=threads: numba_run(k, th), repeats)
        row[f"numba_{name}_kernel_path_steps_per_s"] = steps / t_kernel
        row[f"numba_{name}_with_noise_path_steps_per_s"] = steps / t_total
        row[f"numba_{name}_with_noise_over_numpy"] = t_np / t_total
    out = numpy_run()
    numba.set_num_threads(1)
    held, cas, removal = war_outcomes(kernels["one_thread"], sc, params, seeds[0], paths, horizon)
    row["held_max_rel_diff"] = float(np.max(np.abs(held - out.held_at_end) / np.maximum(np.abs(out.held_at_end), 1.0)))
    cas_np = np.stack([out.casualties_total[s] for s in SIDES])
    row["casualties_max_rel_diff"] = float(np.max(np.abs(cas - cas_np) / cas_np))
    months_np = np.stack([out.removal_month[s] for s in SIDES])
    row["removal_month_paths_differing"] = int(np.count_nonzero((removal != months_np).any(axis=0)))
    row["removed_share"] = [float(np.mean(out.removed[s])) for s in SIDES]
    return row


def transcendentals(repeats: int, size: int = 10**6) -> dict[str, float]:
    """Nanoseconds per element of ``power``, ``exp`` and ``expm1``: the C library's, one call per element
    in a compiled loop (what a per-path kernel calls), against NumPy's vectorised ufuncs."""

    @numba.njit(cache=False)
    def scalar(kind: int, x: np.ndarray, y: np.ndarray) -> float:  # type: ignore[misc]
        total = 0.0
        for i in range(x.size):
            if kind == 0:
                total += x[i] ** y[i]
            elif kind == 1:
                total += np.exp(y[i])
            else:
                total += np.expm1(y[i])
        return total

    g = np.random.default_rng(0)
    x, y = g.random(size) + 0.5, g.random(size)
    out: dict[str, float] = {}
    for kind, name, ufunc in (
        (0, "power", lambda: np.power(x, y)),
        (1, "exp", lambda: np.exp(y)),
        (2, "expm1", lambda: np.expm1(y)),
    ):
        scalar(kind, x, y)
        out[f"compiled_{name}_ns"] = median_of(lambda k=kind: scalar(k, x, y), repeats) / size * 1e9
        out[f"numpy_{name}_ns"] = median_of(ufunc, repeats) / size * 1e9
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default="1e5,1e6", help="paths of one parameter sample, comma-separated")
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20260224)
    args = parser.parse_args(argv)
    if numba is None:
        sys.exit("bench/numba_probe.py measures Numba, which ceasefire does not depend on; see the module docstring")
    rows = []
    for size in args.paths.split(","):
        row = measure(int(float(size)), args.horizon, args.repeats, args.seed)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    result = {
        "benchmark": "numba_probe",
        "machine": {"platform": platform.platform(), "threads": numba.config.NUMBA_NUM_THREADS},
        "numba": numba.__version__,
        "numpy": np.__version__,
        "note": "medians of timed runs after compilation; the war configuration of the flagship, one sample",
        "results": rows,
        "per_element": transcendentals(args.repeats),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
