"""Least-squares Monte Carlo: ceasefire.solve.lsm against QuantLib's MCAmericanEngine on one American put.

The put of Longstaff & Schwartz (2001), Table 1, first row: S = 36, K = 40, r = 0.06, sigma = 0.2, T = 1,
50 exercise dates (finite-difference value 4.478). Each engine is run ``REPEATS`` times; the wall time
includes path simulation. QuantLib's ``requiredSamples`` counts antithetic pairs (each sample is the
mean of a path and its mirror), so its 100,000 samples are 200,000 paths; ours are 100,000 training and
100,000 evaluation paths (50,000 + antithetic each), as in the paper. The equal-error comparison reruns
ours with as many evaluation paths as it needs to match QuantLib's standard error. Neither side uses a
control variate (QuantLib's ``controlVariate`` is left at its default, off).

Run: ``make bench`` (the whole suite; installs QuantLib into .venv) or ``python bench/lsm_vs_quantlib.py``
alone. Writes bench/results/lsm_vs_quantlib.{json,md}.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import QuantLib as ql
except ImportError:  # put_paths() and ours() need NumPy only; quantlib() needs the bench extra
    ql = None

from ceasefire.solve.lsm import OptimalStopping, PathSet

SPOT, STRIKE, RATE, SIGMA, YEARS, STEPS = 36.0, 40.0, 0.06, 0.2, 1.0, 50
PATHS = 100_000
REPEATS = 5
SEED = 20010101
FD_VALUE = 4.478
RESULTS = Path(__file__).parent / "results"


def put_paths(rng: np.random.Generator, paths: int) -> PathSet:
    """Exact GBM on the exercise dates, ``paths / 2`` draws and their antithetic mirrors; state S / K.

    The mirror's log price is ``2 mu t - log S_t`` (``mu`` the drift per step). The arrays are
    filled date by date, in place, so each date's rows are still in cache when the next step uses
    them; the put's payoff is set to NaN out of the money without a branch per entry
    (``min(p, sqrt(p) * inf)`` is ``p`` for ``p > 0`` and NaN otherwise).
    """
    dt = YEARS / STEPS
    half = paths // 2
    drift = (RATE - SIGMA**2 / 2) * dt
    vol = SIGMA * math.sqrt(dt)
    spot = SPOT / STRIKE  # the state: S / K
    step = np.empty(half)
    price = np.empty((STEPS + 1, 1, 2 * half))
    payoff = np.empty((STEPS + 1, 1, 2 * half))
    log_s = np.zeros(half)
    scratch = np.empty(2 * half)
    price[0] = spot
    with np.errstate(invalid="ignore"):
        for t in range(STEPS + 1):
            row = price[t, 0]
            if t:
                rng.standard_normal(out=step)
                step *= vol
                step += drift
                log_s += step
                np.exp(log_s, out=row[:half])
                np.subtract(2.0 * drift * t, log_s, out=row[half:])
                np.exp(row[half:], out=row[half:])
                row *= spot
            stop = payoff[t, 0]
            np.multiply(row, STRIKE, out=stop)
            np.subtract(STRIKE, stop, out=stop)
            np.sqrt(stop, out=scratch)
            scratch *= math.inf
            np.minimum(stop, scratch, out=stop)
    return PathSet(state=price[..., None], stop=payoff, discount=math.exp(-RATE * dt), antithetic=True)


TRAINING_PATHS = PATHS
"""Paths the exercise rule is fitted on (the evaluation paths are counted apart)."""


def ours(seed: np.random.SeedSequence, evaluation_paths: int = PATHS) -> tuple[float, float]:
    train_seed, test_seed = seed.spawn(2)
    train = put_paths(np.random.default_rng(train_seed), TRAINING_PATHS)
    test = put_paths(np.random.default_rng(test_seed), evaluation_paths)
    result = OptimalStopping(train, basis="laguerre", degree=3).solve(test)
    return float(result.value[0]), float(result.stderr[0])


def quantlib(seed: int, **engine: object) -> tuple[float, float]:
    if ql is None:
        raise RuntimeError("QuantLib is not installed: pip install -e '.[bench]' (make bench does)")
    today = ql.Date(15, ql.May, 2001)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    maturity = today + ql.Period(365, ql.Days)
    process = ql.BlackScholesProcess(
        ql.QuoteHandle(ql.SimpleQuote(SPOT)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, day_count)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), SIGMA, day_count)),
    )
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, STRIKE), ql.AmericanExercise(today, maturity))
    option.setPricingEngine(
        ql.MCAmericanEngine(
            process,
            "PseudoRandom",
            timeSteps=STEPS,
            antitheticVariate=True,
            requiredSamples=PATHS,
            seed=seed,
            **engine,
        )
    )
    return float(option.NPV()), float(option.errorEstimate())


def repeat(run: Callable[[int], tuple[float, float]]) -> dict[str, Any]:
    values, errors, seconds = [], [], []
    for i in range(REPEATS):
        start = time.perf_counter()
        value, error = run(i)
        seconds.append(time.perf_counter() - start)
        values.append(value)
        errors.append(error)
    return {
        "value": statistics.mean(values),
        "values": values,
        "stderr": statistics.mean(errors),
        "seconds_median": statistics.median(seconds),
        "seconds": seconds,
    }


def main() -> None:
    seeds = np.random.SeedSequence(SEED).spawn(REPEATS)
    ql_seeds = [int(s) for s in np.random.SeedSequence(SEED).generate_state(REPEATS)]
    runs = {
        "ceasefire LSM (Laguerre 3, 100k train + 100k eval paths)": repeat(lambda i: ours(seeds[i])),
        "QuantLib defaults (Monomial 2, 2,048 calibration)": repeat(lambda i: quantlib(ql_seeds[i])),
        "QuantLib Laguerre 3, 50,000 calibration": repeat(
            lambda i: quantlib(
                ql_seeds[i], polynomOrder=3, polynomType=ql.LsmBasisSystem.Laguerre, nCalibrationSamples=50_000
            )
        ),
    }
    names = list(runs)
    mine = runs[names[0]]
    comparisons = []
    for name in names[1:]:
        theirs = runs[name]
        # Evaluation paths ours needs for QuantLib's standard error (the error scales as 1 / sqrt(paths)).
        needed = 2 * math.ceil(PATHS * (float(mine["stderr"]) / float(theirs["stderr"])) ** 2 / 2)
        equal = repeat(lambda i, needed=needed: ours(seeds[i], evaluation_paths=needed))  # type: ignore[misc]
        comparisons.append(
            {
                "quantlib": name,
                "time_ratio_quantlib_over_ours": float(theirs["seconds_median"]) / float(mine["seconds_median"]),
                "equal_error_evaluation_paths": needed,
                "equal_error_ours": equal,
                "equal_error_time_ratio": float(theirs["seconds_median"]) / float(equal["seconds_median"]),
            }
        )
    report = {
        "problem": {
            "spot": SPOT,
            "strike": STRIKE,
            "rate": RATE,
            "sigma": SIGMA,
            "years": YEARS,
            "exercise_dates": STEPS,
            "finite_difference_value": FD_VALUE,
        },
        "repeats": REPEATS,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "quantlib": ql.__version__,
            "platform": platform.platform(),
        },
        "runs": runs,
        "comparisons": comparisons,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lsm_vs_quantlib.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = to_markdown(report)
    (RESULTS / "lsm_vs_quantlib.md").write_text(markdown)
    print(markdown)


def to_markdown(report: dict[str, object]) -> str:
    machine = report["machine"]
    runs = report["runs"]
    assert isinstance(machine, dict) and isinstance(runs, dict)
    lines = [
        "# LSM American put: ceasefire vs QuantLib",
        "",
        f"S = {SPOT}, K = {STRIKE}, r = {RATE}, sigma = {SIGMA}, T = {YEARS}, {STEPS} exercise dates; "
        f"finite-difference value {FD_VALUE}. Median of {report['repeats']} runs, simulation included. "
        f"{machine['cpus']} CPUs, Python {machine['python']}, NumPy {machine['numpy']}, "
        f"QuantLib {machine['quantlib']}.",
        "",
        "| engine | value | s.e. | median time (s) |",
        "|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['value']:.4f} | {run['stderr']:.4f} | {run['seconds_median']:.3f} |")
    lines += [
        "",
        "| QuantLib engine | time ratio QuantLib / ours | ours at equal s.e.: eval paths | value | s.e. "
        "| time (s) | time ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    comparisons = report["comparisons"]
    assert isinstance(comparisons, list)
    for c in comparisons:
        eq = c["equal_error_ours"]
        lines.append(
            f"| {c['quantlib']} | {c['time_ratio_quantlib_over_ours']:.2f} | {c['equal_error_evaluation_paths']:,} "
            f"| {eq['value']:.4f} | {eq['stderr']:.4f} | {eq['seconds_median']:.3f} "
            f"| {c['equal_error_time_ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
