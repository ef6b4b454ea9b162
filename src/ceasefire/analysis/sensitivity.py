"""Global sensitivity: which uncertain assumptions drive an output, via SALib.

* **Sobol** (Saltelli's scheme, ``SALib.sample.sobol`` / ``SALib.analyze.sobol``): the first-order
  index ``S1_i = Var(E[Y | X_i]) / Var(Y)`` (the share of the output's variance that ``X_i``
  explains alone) and the total index ``ST_i = E[Var(Y | X_~i)] / Var(Y)`` (alone and through its
  interactions), with bootstrap 95% confidence intervals (Saltelli et al. 2010, Jansen 1999).
  ``n`` base points cost ``n * (D + 2)`` evaluations for ``D`` parameters (no second order).
* **Morris** elementary effects (``SALib.sample.morris`` / ``SALib.analyze.morris``), a quick
  screen: ``mu_star`` (mean absolute effect of moving a parameter across its range, in output
  units per unit of quantile) and ``sigma`` (its spread: nonlinearity or interactions);
  ``n`` trajectories cost ``n * (D + 1)`` evaluations.

Sampling happens in the unit hypercube: each point ``u`` is mapped through every parameter's
quantile function ``Param.ppf(u)``, so the indices are with respect to the parameters' own
distributions (a Morris step is a step in quantile, comparable across parameters).

For a scenario, the factors are the uncertain parameters the simulation reads
(:func:`ceasefire.run.sweep.model_factors`; the lever parameters only of levers applied); each
point is one row of a sweep (common random numbers: every point is simulated on the same paths,
so the output is a deterministic function of the parameters and the indices measure parameters,
not noise). Points where the leaders settle in month 0 are *kept and evaluated as simulated*
(``no_deal_at_start`` screens samples in ``ceasefire run``, not here: the indices describe the
model over the whole prior box); their share is reported as ``month0_share``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ceasefire.analysis.frames import Tabular, spec_fields
from ceasefire.errors import CeasefireError
from ceasefire.run.executor import Executor, executor_for
from ceasefire.run.sweep import LEVER_PREFIX, METRICS, SweepSpec, model_factors, run_sweep
from ceasefire.scenario.schema import Scenario, iter_params

__all__ = ["DEFAULT_OUTPUT", "METHODS", "Factor", "SensitivityResult", "analyze_factors", "sensitivity"]

DEFAULT_OUTPUT = "p_settle_horizon"
"""The output explained unless another is asked for (the report's, the CLI's, :func:`sensitivity`'s):
P(a first settlement within the horizon). Under Model 2 the flagship almost never settles within 12
months, so ``p_settle_12`` is 0 at every point of a screen and there is nothing to attribute; the
horizon's probability varies, is defined at any horizon (no ``min_horizon``) and is the headline's."""

UNIT_EPS = 1e-9
"""Unit points are clipped into ``[UNIT_EPS, 1 - UNIT_EPS]`` before the quantile functions."""
MORRIS_LEVELS = 4
CONF_LEVEL = 0.95
RESAMPLES = 200
DEFAULT_PATHS = 100


@dataclass(frozen=True)
class Factor:
    """An uncertain input: its name, where its distribution comes from, and its quantile function."""

    name: str
    source: str
    ppf: Callable[[NDArray[np.float64]], NDArray[np.float64]]


@dataclass(frozen=True)
class Method:
    """A sampler and an analyzer of one family: the same shape for every method."""

    sample: Callable[[dict[str, Any], int, int], NDArray[np.float64]]
    analyze: Callable[[dict[str, Any], NDArray[np.float64], NDArray[np.float64], int], Mapping[str, Any]]
    columns: tuple[str, ...]  # the analyzer's per-parameter results, in the order shown
    rank_by: str
    default_n: int
    check_n: Callable[[int], None]


def _sobol_sample(problem: dict[str, Any], n: int, seed: int) -> NDArray[np.float64]:
    from SALib.sample import sobol

    return np.asarray(sobol.sample(problem, n, calc_second_order=False, seed=seed), dtype=float)


def _sobol_analyze(problem: dict[str, Any], u: NDArray[np.float64], y: NDArray[np.float64], seed: int) -> Any:
    from SALib.analyze import sobol

    return sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES, conf_level=CONF_LEVEL, seed=seed)


def _morris_sample(problem: dict[str, Any], n: int, seed: int) -> NDArray[np.float64]:
    from SALib.sample import morris

    return np.asarray(morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed), dtype=float)


def _morris_analyze(problem: dict[str, Any], u: NDArray[np.float64], y: NDArray[np.float64], seed: int) -> Any:
    from SALib.analyze import morris

    return morris.analyze(
        problem, u, y, num_resamples=RESAMPLES, conf_level=CONF_LEVEL, num_levels=MORRIS_LEVELS, seed=seed
    )


def _power_of_two(n: int) -> None:
    if n < 2 or n & (n - 1):
        raise ValueError(f"Sobol needs N a power of 2 (at least 2), got {n}: Saltelli's scheme converges only then")


def _at_least_two(n: int) -> None:
    if n < 2:
        raise ValueError(f"Morris needs at least 2 trajectories, got {n}")


METHODS: dict[str, Method] = {
    "sobol": Method(
        sample=_sobol_sample,
        analyze=_sobol_analyze,
        columns=("S1", "S1_conf", "ST", "ST_conf"),
        rank_by="ST",
        default_n=64,
        check_n=_power_of_two,
    ),
    "morris": Method(
        sample=_morris_sample,
        analyze=_morris_analyze,
        columns=("mu_star", "mu_star_conf", "sigma", "mu"),
        rank_by="mu_star",
        default_n=10,
        check_n=_at_least_two,
    ),
}
"""Registered methods, by name."""


@dataclass(frozen=True)
class SensitivityResult(Tabular):
    """Indices of every factor for one output, ranked (largest ``rank_by`` first)."""

    scenario: str
    output: str
    method: str
    n: int
    evaluations: int
    paths: int | None
    seed: int
    parameters: int
    rows: list[dict[str, Any]]  # {parameter, source, S1, S1_conf, ST, ST_conf} or Morris columns
    output_mean: float
    output_sd: float
    month0_share: float | None  # share of evaluations with a deal in month 0 (scenarios only)
    seconds: float
    screen: list[dict[str, Any]] | None = None  # the Morris screen that chose the parameters kept apart
    screen_evaluations: int = 0


def sampler_seed(seed: int, stream: int) -> int:
    """An integer seed for SALib's samplers and bootstraps, derived from ``seed`` (``stream`` apart)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint32)[0])


def unit_design(factors: Sequence[Factor], u: NDArray[np.float64]) -> pd.DataFrame:
    """Map unit points ``u`` (rows x factors) through each factor's quantile function."""
    u = np.clip(np.asarray(u, dtype=float), UNIT_EPS, 1.0 - UNIT_EPS)
    return pd.DataFrame({f.name: np.asarray(f.ppf(u[:, j]), dtype=float) for j, f in enumerate(factors)})


def analyze_factors(
    factors: Sequence[Factor],
    evaluate: Callable[[pd.DataFrame], NDArray[np.float64]],
    method: str = "sobol",
    n: int | None = None,
    seed: int = 0,
    output: str = "y",
    groups: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], NDArray[np.float64], int]:
    """Sample, map, evaluate, analyze and rank: the path every sensitivity run takes.

    Returns the ranked rows, the outputs and the number of evaluations. ``evaluate`` maps a
    design (one column per factor, in parameter units) to one output per row. ``groups`` (Sobol
    only) names each factor's group: indices are then per group (SALib ``groups``), and a row's
    ``members`` lists the group's factors.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method '{method}' (methods: {', '.join(METHODS)})")
    m = METHODS[method]
    n = m.default_n if n is None else n
    m.check_n(n)
    if len(factors) < 2:
        raise ValueError(f"sensitivity needs at least 2 uncertain parameters, got {len(factors)}")
    names = [f.name for f in factors]
    problem: dict[str, Any] = {"num_vars": len(factors), "names": names, "bounds": [[0.0, 1.0]] * len(factors)}
    if groups is not None:
        if method != "sobol" or len(groups) != len(factors):
            raise ValueError("groups need the sobol method and one group name per factor")
        problem["groups"] = list(groups)
    u = m.sample(problem, n, sampler_seed(seed, 1))
    y = np.asarray(evaluate(unit_design(factors, u)), dtype=float)
    if y.shape != (u.shape[0],):
        raise ValueError(f"the model returned {y.shape} outputs for {u.shape[0]} points")
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise CeasefireError(
            f"output '{output}' is undefined (NaN) in {bad} of {y.size} evaluations; choose an output defined "
            "everywhere (e.g. p_settle_36 or months_at_war rather than median_month or p_holds_2y)"
        )
    if np.ptp(y) == 0.0:
        raise CeasefireError(
            f"output '{output}' is {y[0]:g} in all {y.size} evaluations: there is no variance to attribute "
            "(choose another output, or more paths)"
        )
    res = m.analyze(problem, u, y, sampler_seed(seed, 2))
    if groups is None:
        rows = [
            {"parameter": f.name, "source": f.source, **{c: float(res[c][j]) for c in m.columns}}
            for j, f in enumerate(factors)
        ]
    else:
        order = list(dict.fromkeys(groups))  # SALib's order: groups as they first appear
        rows = []
        for j, g in enumerate(order):
            members = [f for f, gf in zip(factors, groups, strict=True) if gf == g]
            source = "; ".join(dict.fromkeys(f.source for f in members))
            indices = {c: float(res[c][j]) for c in m.columns}
            rows.append({"parameter": g, "source": source, **indices, "members": [f.name for f in members]})
    rows.sort(key=lambda r: (_descending(r[m.rank_by]), str(r["parameter"])))
    return rows, y, int(u.shape[0])


def _descending(value: Any) -> float:
    """Sort key: larger first, NaN last."""
    x = float(value)
    return -x if math.isfinite(x) else math.inf


def scenario_factors(scenario: Scenario, levers: Mapping[str, float] | None = None) -> list[Factor]:
    """The uncertain parameters a run with ``levers`` reads, as factors with their sources."""
    params = dict(iter_params(scenario))
    return [
        Factor(path, params[path].source, params[path].ppf)
        for path in model_factors(scenario, [k for k, v in (levers or {}).items() if v])
    ]


def sensitivity(
    scenario: Scenario,
    output: str = DEFAULT_OUTPUT,
    method: str = "sobol",
    n: int | None = None,
    paths: int | None = None,
    seed: int | None = None,
    *,
    screen: int | None = 12,
    screen_n: int = 10,
    levers: Mapping[str, float] | None = None,
    horizon: int | None = None,
    policy: str | None = None,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    out: Path | str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Global sensitivity of ``output`` (a sweep metric) to every uncertain parameter of ``scenario``.

    Parameters
    ----------
    output
        A registered sweep metric (:data:`ceasefire.run.sweep.METRICS`); default :data:`DEFAULT_OUTPUT`.
    method
        ``sobol`` (first-order and total indices) or ``morris`` (screen).
    n
        Sobol base points (a power of 2) or Morris trajectories; default per method.
    paths
        Paths per evaluation (default 100: the leaders' stopping rules are fitted on them, and
        fewer paths bias the rules); seed: the scenario's run seed by default.
    screen, screen_n
        Sobol only: a Morris screen of ``screen_n`` trajectories first ranks every parameter; the
        ``screen`` largest keep their own Sobol indices and the others are one group whose indices
        bound their joint effect. ``None`` or ``0``: every parameter individually (``n * (D + 2)``
        evaluations).
    levers
        Lever intensities applied at every point (their own parameters become factors).
    backend
        ``numpy`` (default) or ``jax`` (:class:`ceasefire.run.sweep.SweepSpec`).
    workers, scheduler, executor
        Where the sweep runs (default: a local pool of ``CEASEFIRE_WORKERS`` processes if set, else
        one per CPU this process may use; one, in this process, with JAX).
    out, resume
        A folder for the sweeps' parts (``screen/`` and ``main/`` inside), and whether to continue them.
    """
    start = time.perf_counter()
    if output not in METRICS:
        raise ValueError(f"unknown output '{output}' (outputs: {', '.join(METRICS)})")
    if method not in METHODS:
        raise ValueError(f"unknown method '{method}' (methods: {', '.join(METHODS)})")
    m = METHODS[method]
    m.check_n(m.default_n if n is None else n)
    spec = SweepSpec.from_scenario(
        scenario,
        paths=paths or DEFAULT_PATHS,
        seed=seed,
        horizon=horizon,
        policy=policy,
        backend=backend,
        metrics=tuple(dict.fromkeys((output, "deal_at_start"))),
    )
    spec.validate()
    lever_columns = {LEVER_PREFIX + k: float(v) for k, v in (levers or {}).items()}
    factors = scenario_factors(scenario, levers)
    month0: list[float] = []
    ex = executor or executor_for(workers or spec.default_workers(), scheduler)

    def evaluate_in(folder: str | None) -> Callable[[pd.DataFrame], NDArray[np.float64]]:
        where = None if out is None or folder is None else Path(out) / folder

        def evaluate(design: pd.DataFrame) -> NDArray[np.float64]:
            for col, x in lever_columns.items():
                design[col] = x
            table = run_sweep(scenario, design, spec, executor=ex, out=where, resume=resume, progress=progress)
            month0.append(float((table["deal_at_start"] > 0).mean()))
            return table[output].to_numpy()

        return evaluate

    screened: list[dict[str, Any]] | None = None
    screen_evaluations = 0
    groups: list[str] | None = None
    with ex:  # the screen's sweep and the main one on the same worker processes
        if method == "sobol" and screen and screen < len(factors):
            screened, _, screen_evaluations = analyze_factors(
                factors, evaluate_in("screen"), "morris", screen_n, spec.seed, output
            )
            top = [str(r["parameter"]) for r in screened[:screen]]
            by_name = {f.name: f for f in factors}
            factors = [by_name[t] for t in top] + [f for f in factors if f.name not in top]
            groups = top + [f"other parameters ({len(factors) - screen})"] * (len(factors) - screen)
        rows, y, evaluations = analyze_factors(factors, evaluate_in("main"), method, n, spec.seed, output, groups)
    return SensitivityResult(
        scenario=scenario.scenario.id,
        output=output,
        method=method,
        n=m.default_n if n is None else n,
        evaluations=evaluations,
        **spec_fields(spec, "paths", "seed"),
        parameters=len(factors),
        rows=rows,
        output_mean=float(y.mean()),
        output_sd=float(y.std()),
        month0_share=month0[-1] if month0 else None,
        seconds=time.perf_counter() - start,
        screen=screened,
        screen_evaluations=screen_evaluations,
    )
