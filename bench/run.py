"""The benchmark suite: ``make bench`` (``BENCH_QUICK=1`` for a smoke run at tiny sizes).

Writes ``bench/results/bench.json`` and ``bench/results/bench.md``. Every row is repeated and
reported as the median; where a row has a baseline, the baseline is measured in the same repeat,
just before the row, and the row's ratio to it is the median of the per-repeat ratios (the
machine is shared: ratios within a repeat are what count).

Rows
----
rng
    The ceiling: NumPy's standard normals per second (PCG64), one core.
engine
    The flagship (``russia-ukraine-2026``) with the optimal policy: both leaders' imagined wars and
    least-squares Monte Carlo rules, then the true war with both leaders' decisions and the monthly
    bargaining range, at 10^3 .. 10^6 paths in all (10 parameter samples). A *path-step* is one
    month of one path of the true war; the imagined wars (two leaders, each on at most
    ``PATH_BLOCK`` paths per sample, the rules' training set) are counted apart, not in the rate.
scaling
    Time against horizon and against the number of terms on the table, at 10^4 paths.
plain_python
    The same model written one path at a time in plain Python (``bench/plain_python.py``; myopic
    policy, no bargaining-range record) against the engine on the same case: the speed-up.
lsm_vs_quantlib
    The least-squares Monte Carlo solver against QuantLib's ``MCAmericanEngine`` on the
    Longstaff-Schwartz put (``bench/lsm_vs_quantlib.py``), at equal paths and at equal standard error.
memory
    Peak resident memory of one sample of 10^5, 10^6 and 10^7 paths (each in a fresh process).
sensitivity
    ``ceasefire sensitivity`` of the flagship at its default size: wall time and peak memory
    (when the command exists).
jax
    The JAX backend (:mod:`ceasefire.model.jax.engine`, when installed) on the engine row's case.

Run ``python bench/run.py --help`` for options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCENARIO = "russia-ukraine-2026"
SEED = 20260201
RESULTS = HERE / "results"


# ------------------------------------------------------------------------------------------- sizes


def sizes(quick: bool) -> dict[str, Any]:
    """What each row runs; quick mode is a smoke test of the suite, not a measurement."""
    if quick:
        return {
            "repeats": 2,
            "rng_normals": 200_000,
            "engine": [(2, 50), (4, 100)],
            "engine_horizon": 6,
            "scaling_case": (2, 50),
            "horizons": [3, 6],
            "terms": [1, 4],
            "plain_paths": 4,
            "plain_engine_paths": 200,
            "plain_horizon": 6,
            "lsm_paths": 2_000,
            "memory": [5_000],
            "memory_horizon": 3,
            "sensitivity": False,
            "report": ["--quick", "--samples", "2", "--paths", "8", "--horizon", "6"],
            "jax": [],
        }
    return {
        "repeats": int(os.environ.get("BENCH_REPEATS", "3")),
        "rng_normals": 10_000_000,
        "engine": [(10, 100), (10, 1_000), (10, 10_000), (10, 100_000)],
        "engine_horizon": 12,
        "scaling_case": (10, 1_000),
        "horizons": [12, 24, 48],
        "terms": [1, 2, 4, 8],
        "plain_paths": 100,
        "plain_engine_paths": 100_000,
        "plain_horizon": 24,
        "lsm_paths": 100_000,
        "memory": [100_000, 1_000_000, 10_000_000],
        "memory_horizon": 3,
        "sensitivity": True,
        "report": [],
        "jax": [(10, 10_000), (10, 100_000), (1, 1_000_000)],
    }


# ------------------------------------------------------------------------------------------- helpers


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def rng_rate(normals: int) -> float:
    """Standard normals per second from NumPy's default bit generator, drawn in one call."""
    g = np.random.Generator(np.random.PCG64(1))
    return normals / timed(lambda: g.standard_normal(normals))


def noise_rate(path_steps: int) -> float:
    """Path-steps per second on one core if the engine did nothing but draw its noise: the 5 standard
    normals and 5 uniforms of every path and month (``ceasefire.model.war``), drawn in one call each."""
    from ceasefire.model.war import N_NORMAL, N_UNIFORM

    g = np.random.Generator(np.random.PCG64(1))
    return path_steps / timed(lambda: (g.standard_normal((path_steps, N_NORMAL)), g.random((path_steps, N_UNIFORM))))


def scenario_with_terms(count: int) -> Any:
    """The flagship with its first ``count`` terms, or its terms repeated (new ids) up to ``count``."""
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario(SCENARIO)
    terms = list(sc.terms)
    out = []
    for k in range(count):
        base = terms[k % len(terms)]
        out.append(base if k < len(terms) else base.model_copy(update={"id": f"{base.id}-{k // len(terms)}"}))
    return sc.model_copy(update={"terms": out})


def engine_case(
    samples: int, paths: int, horizon: int, scenario: Any = None, workers: int | None = 1, **config: Any
) -> Callable[[], object]:
    """A closure running the NumPy engine on ``samples`` parameter samples of the flagship (no screening),
    on ``workers`` cores (``None``: the library's default, every core for work big enough)."""
    from ceasefire.model.engine import RunConfig
    from ceasefire.run.experiment import simulate_samples
    from ceasefire.run.sampling import Seeds, sample_parameters
    from ceasefire.scenario.load import load_scenario

    sc = scenario if scenario is not None else load_scenario(SCENARIO)
    seeds = Seeds.from_seed(SEED)
    values = sample_parameters(sc, samples, seeds.parameters)
    path_seeds = [seeds.path_seed(i) for i in range(samples)]
    cfg = RunConfig(horizon=horizon, **config)
    return lambda: simulate_samples(sc, values, path_seeds, paths, cfg, {}, workers=workers)


def imagined_steps(samples: int, paths: int, horizon: int) -> int:
    """The leaders' imagined path-steps of an optimal-policy run, as the library counts its work."""
    from ceasefire.model.engine import RunConfig
    from ceasefire.run.experiment import path_steps

    return path_steps(samples, paths, RunConfig(horizon=horizon)) - samples * paths * horizon


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


# ------------------------------------------------------------------------------------------- rows


def row_engine(s: dict[str, Any]) -> dict[str, Any]:
    horizon, out = s["engine_horizon"], []
    for samples, paths in s["engine"]:
        run, run_one = engine_case(samples, paths, horizon, workers=None), engine_case(samples, paths, horizon)
        steps = samples * paths * horizon
        repeats = s["repeats"] if samples * paths <= 100_000 else 1
        rates, ratios, seconds, ceilings, one, speedups, noise = [], [], [], [], [], [], []
        for _ in range(repeats):
            ceiling = rng_rate(s["rng_normals"])
            noise.append(noise_rate(s["rng_normals"] // 10))
            t1 = timed(run_one)  # one worker, then the default (every core where it pays), same repeat
            t = timed(run)
            seconds.append(t)
            rates.append(steps / t)
            ceilings.append(ceiling)
            one.append(steps / t1)
            ratios.append(steps / t1 / ceiling)
            speedups.append(t1 / t)
        out.append(
            {
                "samples": samples,
                "paths_per_sample": paths,
                "paths": samples * paths,
                "horizon": horizon,
                "path_steps": steps,
                "imagined_path_steps": imagined_steps(samples, paths, horizon),
                "repeats": repeats,
                "seconds": median(seconds),
                "path_steps_per_s": median(rates),
                "path_steps_per_s_one_worker": median(one),
                "speedup_all_cores": median(speedups),
                "rng_normals_per_s": median(ceilings),
                "ratio_to_rng": median(ratios),
                "noise_only_path_steps_per_s": median(noise),
            }
        )
        print(
            f"engine {samples} x {paths}: {median(rates):.3g} path-steps/s "
            f"({median(one):.3g} on one worker, x{median(speedups):.2f})",
            file=sys.stderr,
        )
    return {"rows": out, "target_path_steps_per_s": 2e7, "cpus": os.cpu_count()}


def row_scaling(s: dict[str, Any]) -> dict[str, Any]:
    samples, paths = s["scaling_case"]
    by_horizon, by_terms = [], []
    for h in s["horizons"]:
        t = median([timed(engine_case(samples, paths, h)) for _ in range(s["repeats"])])
        by_horizon.append({"horizon": h, "seconds": t, "path_steps_per_s": samples * paths * h / t})
    h = s["horizons"][0]
    for k in s["terms"]:
        sc = scenario_with_terms(k)
        t = median([timed(engine_case(samples, paths, h, scenario=sc)) for _ in range(s["repeats"])])
        by_terms.append({"terms": k, "horizon": h, "seconds": t, "path_steps_per_s": samples * paths * h / t})
    for rows in (by_horizon, by_terms):
        for r in rows:
            r["time_ratio_to_first"] = r["seconds"] / rows[0]["seconds"]
    return {"samples": samples, "paths_per_sample": paths, "by_horizon": by_horizon, "by_terms": by_terms}


def plain_case() -> tuple[Any, dict[str, np.ndarray], Any]:
    """The case of ``tests/test_plain_python.py``: a sample where a myopic deal is uncertain, of the flagship
    with the Model 2 mechanisms the plain-Python model leaves out at their neutral values."""
    import plain_python as pp

    from ceasefire.run.sampling import Seeds, sample_parameters
    from ceasefire.scenario.load import load_scenario

    sc = pp.neutral_scenario(load_scenario(SCENARIO))
    seeds = Seeds.from_seed(3)
    values = pp.neutral_values(sample_parameters(sc, 12, seeds.parameters))
    return sc, {k: np.asarray(v[4:5], dtype=float) for k, v in values.items()}, seeds.path_seed(4)


def row_plain_python(s: dict[str, Any]) -> dict[str, Any]:
    import plain_python as pp

    from ceasefire.model.engine import RunConfig
    from ceasefire.run.experiment import simulate_samples

    sc, one, seed = plain_case()
    horizon, plain_paths, engine_paths = s["plain_horizon"], s["plain_paths"], s["plain_engine_paths"]
    config = RunConfig(horizon=horizon, policy="myopic", bargaining_range=False)
    p = {k: float(v[0]) for k, v in one.items()}
    terms = pp.terms_of(sc)

    def engine(paths: int, workers: int | None) -> Callable[[], object]:
        return lambda: simulate_samples(sc, one, [seed], paths, config, {}, workers=workers)

    plain, same, large, large_one, speedup, speedup_one, speedup_same = [], [], [], [], [], [], []
    for r in range(s["repeats"]):
        t_plain = timed(functools.partial(pp.simulate, p, terms, plain_paths, horizon, 6, seed=r))
        t_same = timed(engine(plain_paths, 1))
        t_one = timed(engine(engine_paths, 1))
        t_large = timed(engine(engine_paths, None))  # the library's default: every core
        rate_plain = plain_paths * horizon / t_plain
        plain.append(rate_plain)
        same.append(plain_paths * horizon / t_same)
        large_one.append(engine_paths * horizon / t_one)
        large.append(engine_paths * horizon / t_large)
        speedup.append(large[-1] / rate_plain)
        speedup_one.append(large_one[-1] / rate_plain)
        speedup_same.append(same[-1] / rate_plain)
    return {
        "case": "flagship (the Model 2 mechanisms the plain model leaves out neutral), one parameter sample, "
        "myopic policy, no bargaining-range record",
        "horizon": horizon,
        "plain_paths": plain_paths,
        "engine_paths": engine_paths,
        "plain_path_steps_per_s": median(plain),
        "engine_path_steps_per_s_at_plain_paths": median(same),
        "engine_path_steps_per_s": median(large),
        "engine_path_steps_per_s_one_worker": median(large_one),
        "speedup": median(speedup),
        "speedup_one_worker": median(speedup_one),
        "speedup_at_plain_paths": median(speedup_same),
        "target_speedup": 200,
    }


def row_lsm(s: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("QuantLib") is None:
        return {"available": False, "why": "QuantLib is not installed (the bench extra)"}
    import lsm_vs_quantlib as lq

    paths = s["lsm_paths"]
    lq.PATHS = paths  # quantlib() reads it at call time
    # the rule is fitted on 20,000 paths: with 4 regressors more move the value by less than its s.e.
    lq.TRAINING_PATHS = training = min(paths, 20_000)
    seeds = np.random.SeedSequence(lq.SEED).spawn(s["repeats"])
    ql_seeds = [int(x) for x in np.random.SeedSequence(lq.SEED).generate_state(s["repeats"])]
    engines: dict[str, dict[str, Any]] = {
        "QuantLib defaults (Monomial 2, 2,048 calibration)": {},
        "QuantLib Laguerre 3, calibration = half the paths": {
            "polynomOrder": 3,
            "polynomType": lq.ql.LsmBasisSystem.Laguerre,
            "nCalibrationSamples": paths // 2,
        },
    }
    out = []
    for name, kwargs in engines.items():
        ours_t, ql_t, eq_t, ratio_paths, ratio_se, needed_list = [], [], [], [], [], []
        values: dict[str, list[float]] = {"ours": [], "quantlib": [], "ours_equal_se": []}
        errors: dict[str, list[float]] = {"ours": [], "quantlib": [], "ours_equal_se": []}
        for r in range(s["repeats"]):
            start = time.perf_counter()
            ql_value, ql_se = lq.quantlib(ql_seeds[r], **kwargs)
            ql_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            value, se = lq.ours(seeds[r], evaluation_paths=paths)
            ours_t.append(time.perf_counter() - start)
            # evaluation paths ours needs for QuantLib's standard error (error ~ 1 / sqrt(paths))
            needed = 2 * math.ceil(paths * (se / ql_se) ** 2 / 2)
            start = time.perf_counter()
            eq_value, eq_se = lq.ours(seeds[r], evaluation_paths=needed)
            eq_t.append(time.perf_counter() - start)
            for key, v, e in (("ours", value, se), ("quantlib", ql_value, ql_se), ("ours_equal_se", eq_value, eq_se)):
                values[key].append(v)
                errors[key].append(e)
            ratio_paths.append(ql_t[-1] / ours_t[-1])
            ratio_se.append(ql_t[-1] / eq_t[-1])
            needed_list.append(needed)
        out.append(
            {
                "quantlib_engine": name,
                "paths": paths,
                "quantlib_seconds": median(ql_t),
                "ours_seconds": median(ours_t),
                "ours_equal_se_seconds": median(eq_t),
                "ours_equal_se_evaluation_paths": int(median(needed_list)),
                "value": {k: median(v) for k, v in values.items()},
                "stderr": {k: median(v) for k, v in errors.items()},
                "speedup_equal_paths": median(ratio_paths),
                "speedup_equal_se": median(ratio_se),
            }
        )
    return {
        "available": True,
        "problem": "American put S=36, K=40, r=0.06, sigma=0.2, T=1, 50 dates (finite differences 4.478)",
        "ours": f"Laguerre 3, rule fitted on {training:,} paths, evaluated on {paths:,} (antithetic), "
        "simulation included",
        "rows": out,
        "target_speedup_equal_se": 3,
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory, MiB.

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` survives ``exec``, so a process started from
    a large one would report its parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(paths: int, horizon: int) -> None:
    """In a fresh process: one sample of ``paths`` paths, optimal policy, the bargaining range recorded
    (the default); print the peak RSS as JSON.
    Workers: the library's default (``CEASEFIRE_WORKERS`` in the environment where set)."""
    run = engine_case(1, paths, horizon, workers=None)
    base = peak_rss_mib()
    t = timed(run)
    print(json.dumps({"paths": paths, "seconds": t, "peak_rss_mib": peak_rss_mib(), "before_mib": base}))


def _memory_run(paths: int, horizon: int, workers: str) -> dict[str, Any]:
    """One :func:`memory_child` with ``CEASEFIRE_WORKERS=workers`` ('' for the default), its process tree's
    resident memory polled."""
    cmd = [sys.executable, str(Path(__file__)), "--memory-child", str(paths), "--horizon", str(horizon)]
    env = {k: v for k, v in os.environ.items() if k != "CEASEFIRE_WORKERS"}
    if workers:
        env["CEASEFIRE_WORKERS"] = workers
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        tree = 0.0
        while proc.poll() is None:
            tree = max(tree, _tree_rss_mib(proc.pid))
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            return {"error": err.read().strip().splitlines()[-1:] or ["failed"]}
        row: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    row["tree_peak_rss_mib"] = max(tree, row["peak_rss_mib"])
    return row


def row_memory(s: dict[str, Any]) -> dict[str, Any]:
    out = []
    for paths in s["memory"]:
        row = _memory_run(paths, s["memory_horizon"], "1")
        if "error" in row:
            out.append({"paths": paths, **row})
            continue
        row["path_steps_per_s"] = paths * s["memory_horizon"] / row["seconds"]
        every = _memory_run(paths, s["memory_horizon"], "")
        if "error" not in every:
            every["path_steps_per_s"] = paths * s["memory_horizon"] / every["seconds"]
        row["all_cores"] = every
        out.append(row)
        print(
            f"memory {paths:,} paths: {row['peak_rss_mib']:.0f} MiB in {row['seconds']:.0f} s; all cores: "
            f"{every.get('tree_peak_rss_mib', math.nan):.0f} MiB (tree) in {every.get('seconds', math.nan):.0f} s",
            file=sys.stderr,
        )
    return {
        "case": "one parameter sample, optimal policy, the bargaining range recorded (the default; on the "
        "sample's first 4,096 paths), fresh process each; one worker, then the default (every core), whose peak "
        "is that of the process and its workers together (polled)",
        "horizon": s["memory_horizon"],
        "rows": out,
        "target_mib_at_1e7": 4096,
    }


def _tree_rss_mib(root: int) -> float:
    """Resident memory of process ``root`` and all its descendants now, MiB (Linux ``/proc``)."""
    parent: dict[int, int] = {}
    rss: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[int(entry.name)] = int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parent.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0.0) for pid in tree)


def measure_command(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` (with ``env`` added to the environment); its wall time and the peak of its process
    tree's resident memory (polled)."""
    cwd.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a chatty command cannot block on it
        start = time.perf_counter()
        environment = {**os.environ, **(env or {})}
        proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, text=True, env=environment)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            time.sleep(0.25)
        seconds = time.perf_counter() - start
        err.seek(0)
        tail = err.read()[-500:]
    return {"rc": proc.returncode, "seconds": seconds, "peak_rss_mib": peak, "stderr": tail}


def row_sensitivity(s: dict[str, Any]) -> dict[str, Any]:
    if not s["sensitivity"]:
        return {"available": False, "why": "skipped in quick mode"}
    exe = Path(sys.executable).with_name("ceasefire")
    probe = subprocess.run([str(exe), "sensitivity", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return {"available": False, "why": "no `ceasefire sensitivity` command in this build"}
    row = measure_command([str(exe), "sensitivity", SCENARIO], cwd=RESULTS)
    row["available"] = row["rc"] == 0
    row["command"] = f"ceasefire sensitivity {SCENARIO}"
    row["peak_memory"] = "sum of the resident memory of the command and its worker processes, at its largest"
    return row


REPORT_TARGET_S = 180.0
"""The default report of the flagship should take under 3 minutes on a 2-core machine (issue 31)."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def row_report(s: dict[str, Any]) -> dict[str, Any]:
    """``ceasefire report`` of the flagship at its default sizes (in quick mode, the model alone at tiny
    sizes): ``repeats`` times on every core (the median against :data:`REPORT_TARGET_S`, with the CPU
    time of the command and its workers beside it: on a shared machine the wall time grows with the
    load, the CPU time hardly), then once on one core (``CEASEFIRE_WORKERS=1``) for the speed-up."""
    exe = Path(sys.executable).with_name("ceasefire")
    command = [str(exe), "report", SCENARIO, "-o", "report.html", "-q", *s["report"]]
    row: dict[str, Any] = {"command": " ".join(["ceasefire", *command[1:]])}
    runs, cpu = [], []
    row["load_1min_before"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(s["repeats"]):
            before = _children_cpu_s()
            runs.append(measure_command(command, cwd=Path(tmp)))
            cpu.append(_children_cpu_s() - before)
        row["one_core"] = measure_command(command, cwd=Path(tmp), env={"CEASEFIRE_WORKERS": "1"})
        row["bytes"] = (Path(tmp) / "report.html").stat().st_size if (Path(tmp) / "report.html").exists() else 0
    row["all_cores"] = {
        "rc": max(r["rc"] for r in runs),
        "seconds": median([r["seconds"] for r in runs]),
        "runs_s": [r["seconds"] for r in runs],
        "cpu_s": median(cpu),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "stderr": next((r["stderr"] for r in runs if r["rc"] != 0), ""),
    }
    row["cores"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    row["target_s"] = REPORT_TARGET_S
    row["within_target"] = row["all_cores"]["seconds"] < REPORT_TARGET_S
    row["available"] = row["all_cores"]["rc"] == 0 and row["one_core"]["rc"] == 0
    row["speedup_all_cores"] = row["one_core"]["seconds"] / row["all_cores"]["seconds"]
    row["peak_memory"] = "sum of the resident memory of the command and its worker processes, at its largest"
    return row


def row_jax(s: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("ceasefire.model.jax") is None or importlib.util.find_spec("jax") is None:
        return {"available": False, "why": "ceasefire.model.jax or jax is not installed"}
    if not s["jax"]:
        return {"available": False, "why": "skipped in quick mode (compiling takes minutes on a busy CPU)"}
    from ceasefire.model.engine import RunConfig
    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.run.sampling import Seeds, sample_parameters
    from ceasefire.scenario.build import structure_of
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario(SCENARIO)
    horizon, out = s["engine_horizon"], []
    for samples, paths in s["jax"]:
        seeds = Seeds.from_seed(SEED)
        values = sample_parameters(sc, samples, seeds.parameters)
        path_seeds = [seeds.path_seed(i) for i in range(samples)]
        cfg = RunConfig(horizon=horizon)
        numpy_run = engine_case(samples, paths, horizon)
        numpy_all = engine_case(samples, paths, horizon, workers=None)

        def jax_run(values: Any = values, path_seeds: Any = path_seeds, paths: int = paths, cfg: Any = cfg) -> object:
            return jax_engine.simulate_blocks(structure_of(sc), values, path_seeds, paths, cfg, {})

        first = timed(jax_run)  # compiles
        jax_t, np_t, np_all_t = [], [], []
        for _ in range(s["repeats"] if samples * paths <= 100_000 else 1):
            jax_t.append(timed(jax_run))
            np_t.append(timed(numpy_run))
            np_all_t.append(timed(numpy_all))
        steps = samples * paths * horizon
        out.append(
            {
                "samples": samples,
                "paths_per_sample": paths,
                "horizon": horizon,
                "first_call_seconds": first,
                "seconds": median(jax_t),
                "path_steps_per_s": steps / median(jax_t),
                "ratio_to_numpy": median([n / j for n, j in zip(np_t, jax_t, strict=True)]),
                "ratio_to_numpy_all_cores": median([n / j for n, j in zip(np_all_t, jax_t, strict=True)]),
            }
        )
    return {"available": True, "device": _jax_device(), "rows": out}


def _jax_device() -> str:
    import jax

    return str(jax.devices()[0])


ROWS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "engine": row_engine,
    "scaling": row_scaling,
    "plain_python": row_plain_python,
    "lsm_vs_quantlib": row_lsm,
    "memory": row_memory,
    "sensitivity": row_sensitivity,
    "report": row_report,
    "jax": row_jax,
}


# ------------------------------------------------------------------------------------------- report


def to_markdown(report: dict[str, Any]) -> str:
    m, rows = report["machine"], report["rows"]
    lines = [
        "# ceasefire benchmarks",
        "",
        f"{report['started']}, {'QUICK (smoke sizes, not a measurement)' if report['quick'] else 'full sizes'}; "
        f"{m['cpus']} CPUs (load average {m['load_average_at_start']} at the start), Python {m['python']}, "
        f"NumPy {m['numpy']}. Medians over repeats; ratios are medians of per-repeat ratios against a baseline "
        f"measured in the same repeat. Total {report['seconds']:.0f} s.",
    ]
    if report.get("updated_rows"):
        again = ", ".join(f"{name} ({when})" for name, when in report["updated_rows"].items())
        lines += ["", f"Rows re-run since: {again}."]
    if "engine" in rows:
        e = rows["engine"]
        lines += [
            "",
            "## Engine throughput (flagship, optimal policy, both leaders' decisions, bargaining range)",
            "",
            "A path-step is one month of one path of the true war. Imagined path-steps (each leader's imagined "
            "war, the rules' training set) are extra work, not counted in the rate. Time and path-steps/s: the "
            f"default, every core ({e.get('cpus', '?')}) for work big enough to gain; one worker measured in the "
            "same repeat, and the speed-up. Ceiling: NumPy standard normals per second (one core) in the same "
            "repeat; the ratio is one worker's rate to it. Noise only: path-steps per second on one core if "
            "the engine did nothing but draw each path-step's 5 normals and 5 uniforms.",
            "",
            "| samples x paths | paths | horizon | path-steps | + imagined | repeats | time (s) | path-steps/s "
            "| one worker | speed-up | normals/s (ceiling) | ratio to ceiling | noise only, path-steps/s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in e["rows"]:
            lines.append(
                f"| {r['samples']} x {r['paths_per_sample']:,} | {r['paths']:,} | {r['horizon']} | {r['path_steps']:,} "
                f"| {r['imagined_path_steps']:,} | {r['repeats']} | {r['seconds']:.2f} | {r['path_steps_per_s']:.3g} "
                f"| {r.get('path_steps_per_s_one_worker', math.nan):.3g} | {r.get('speedup_all_cores', math.nan):.2f}x "
                f"| {r['rng_normals_per_s']:.3g} | {r['ratio_to_rng']:.2e} "
                f"| {r.get('noise_only_path_steps_per_s', math.nan):.3g} |"
            )
        lines.append(f"\nTarget: {e['target_path_steps_per_s']:.0e} path-steps/s.")
    if "scaling" in rows:
        sc = rows["scaling"]
        lines += [
            "",
            f"## Scaling ({sc['samples']} x {sc['paths_per_sample']:,} paths)",
            "",
            "| horizon | time (s) | time ratio | path-steps/s |",
            "|---|---|---|---|",
        ]
        for r in sc["by_horizon"]:
            lines.append(
                f"| {r['horizon']} | {r['seconds']:.2f} | {r['time_ratio_to_first']:.2f} "
                f"| {r['path_steps_per_s']:.3g} |"
            )
        lines += ["", "| terms | horizon | time (s) | time ratio | path-steps/s |", "|---|---|---|---|---|"]
        for r in sc["by_terms"]:
            lines.append(
                f"| {r['terms']} | {r['horizon']} | {r['seconds']:.2f} | {r['time_ratio_to_first']:.2f} "
                f"| {r['path_steps_per_s']:.3g} |"
            )
    if "plain_python" in rows:
        p = rows["plain_python"]
        lines += [
            "",
            "## Against plain Python (one path at a time)",
            "",
            f"{p['case']}, horizon {p['horizon']}.",
            "",
            "The engine runs through `simulate_samples`, the library's entry point: at "
            f"{p['engine_paths']:,} paths on every core (the default), and on one worker in the same repeat.",
            "",
            "| plain Python path-steps/s | engine at the same paths | engine at "
            f"{p['engine_paths']:,} paths (one worker) | speed-up | speed-up, one worker | speed-up at equal paths |",
            "|---|---|---|---|---|---|",
            f"| {p['plain_path_steps_per_s']:.3g} ({p['plain_paths']} paths) "
            f"| {p['engine_path_steps_per_s_at_plain_paths']:.3g} | {p['engine_path_steps_per_s']:.3g} "
            f"({p.get('engine_path_steps_per_s_one_worker', math.nan):.3g}) "
            f"| {p['speedup']:.3g}x | {p.get('speedup_one_worker', math.nan):.3g}x "
            f"| {p['speedup_at_plain_paths']:.3g}x |",
            f"\nTarget: {p['target_speedup']}x.",
        ]
    if "lsm_vs_quantlib" in rows:
        q = rows["lsm_vs_quantlib"]
        lines += ["", "## LSM against QuantLib's MCAmericanEngine", ""]
        if not q["available"]:
            lines.append(f"Not available: {q['why']}.")
        else:
            lines += [
                f"{q['problem']}; ours: {q['ours']}.",
                "",
                "| QuantLib engine | QuantLib s (value, s.e.) | ours s (value, s.e.) | speed-up at equal paths "
                "| ours at equal s.e.: eval paths, s | speed-up at equal s.e. |",
                "|---|---|---|---|---|---|",
            ]
            for r in q["rows"]:
                v, e = r["value"], r["stderr"]
                lines.append(
                    f"| {r['quantlib_engine']} | {r['quantlib_seconds']:.3f} "
                    f"({v['quantlib']:.4f}, {e['quantlib']:.4f}) "
                    f"| {r['ours_seconds']:.3f} ({v['ours']:.4f}, {e['ours']:.4f}) | {r['speedup_equal_paths']:.2f} "
                    f"| {r['ours_equal_se_evaluation_paths']:,}, {r['ours_equal_se_seconds']:.3f} "
                    f"| {r['speedup_equal_se']:.2f} |"
                )
            lines.append(f"\nTarget: {q['target_speedup_equal_se']}x at equal s.e.")
    if "memory" in rows:
        mem = rows["memory"]
        lines += [
            "",
            "## Peak memory against paths",
            "",
            f"{mem['case']}; horizon {mem['horizon']}.",
            "",
            "| paths | peak RSS (MiB) | time (s) | path-steps/s | all cores: peak RSS of the tree (MiB) "
            "| time (s) | path-steps/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in mem["rows"]:
            if "error" in r:
                lines.append(f"| {r['paths']:,} | failed: {r['error']} | | | | | |")
            else:
                a = r.get("all_cores") or {}
                lines.append(
                    f"| {r['paths']:,} | {r['peak_rss_mib']:.0f} | {r['seconds']:.1f} | {r['path_steps_per_s']:.3g} "
                    f"| {a.get('tree_peak_rss_mib', math.nan):.0f} | {a.get('seconds', math.nan):.1f} "
                    f"| {a.get('path_steps_per_s', math.nan):.3g} |"
                )
        lines.append(f"\nTarget: under {mem['target_mib_at_1e7']} MiB at 10^7 paths.")
    if "sensitivity" in rows:
        s = rows["sensitivity"]
        lines += ["", "## `ceasefire sensitivity` of the flagship (default size)", ""]
        if s.get("available"):
            lines.append(f"`{s['command']}`: {s['seconds']:.1f} s, peak RSS {s['peak_rss_mib']:.0f} MiB.")
        else:
            lines.append(f"Not available: {s.get('why') or s.get('stderr', '')}.")
    if "report" in rows:
        r = rows["report"]
        lines += ["", "## `ceasefire report` of the flagship", ""]
        if r.get("available"):
            a, one = r["all_cores"], r["one_core"]
            runs = ", ".join(f"{x:.1f}" for x in a.get("runs_s", [a["seconds"]]))
            lines.append(
                f"`{r['command']}`: {a['seconds']:.1f} s on every core ({r.get('cores', '?')} cores; median of "
                f"{runs} s; CPU time {a.get('cpu_s', math.nan):.0f} s; peak RSS of the process tree "
                f"{a['peak_rss_mib']:.0f} MiB), {one['seconds']:.1f} s on one (`CEASEFIRE_WORKERS=1`, "
                f"{one['peak_rss_mib']:.0f} MiB): {r['speedup_all_cores']:.2f}x; {r['bytes'] / 1e6:.1f} MB."
            )
            if "target_s" in r:
                verdict = "met" if r["within_target"] else "NOT met"
                lines.append(
                    f"\nTarget: under {r['target_s']:.0f} s on 2 cores: {verdict} (1-minute load average "
                    f"{r.get('load_1min_before') or math.nan:.1f} before the first run)."
                )
        else:
            failed = r["all_cores"] if r["all_cores"]["rc"] != 0 else r["one_core"]
            lines.append(f"Failed: {failed['stderr']}.")
    if "jax" in rows:
        j = rows["jax"]
        lines += ["", "## JAX backend", ""]
        if not j["available"]:
            lines.append(f"Not available: {j['why']}.")
        else:
            lines += [
                f"Device: {j['device']}. The whole flagship model (optimal policy), as in the engine row; NumPy "
                "measured in the same repeat, on one worker and on every core.",
                "",
                "| samples x paths | horizon | first call (s, compiles) | time (s) | path-steps/s | ratio to NumPy "
                "| ratio to NumPy, every core |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in j["rows"]:
                lines.append(
                    f"| {r['samples']} x {r['paths_per_sample']:,} | {r['horizon']} | {r['first_call_seconds']:.2f} "
                    f"| {r['seconds']:.3f} | {r['path_steps_per_s']:.3g} | {r['ratio_to_numpy']:.2f} "
                    f"| {r.get('ratio_to_numpy_all_cores', math.nan):.2f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ceasefire benchmark suite")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (also BENCH_QUICK=1)")
    parser.add_argument("--only", nargs="*", choices=list(ROWS), help="run only these rows")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for bench.json and bench.md")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--horizon", type=int, default=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from ceasefire.run.allocator import keep_freed_memory

    keeps_freed = keep_freed_memory()  # as the `ceasefire` command and its workers do
    if args.memory_child:
        memory_child(args.memory_child, args.horizon)
        return 0
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    s = sizes(quick)
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "machine": machine(),
        "sizes": dict(s),
        "rows": {},
    }
    earlier = args.out / "bench.json"
    if args.only and earlier.exists():  # keep the other rows of the last full report
        previous = json.loads(earlier.read_text())
        if previous.get("quick") == quick:
            report["rows"] = previous.get("rows", {})
            report["updated_rows"] = {**previous.get("updated_rows", {}), **dict.fromkeys(args.only, report["started"])}
            report["started"] = previous.get("started", report["started"])
            report["machine"] = previous.get("machine", report["machine"])
    for name in args.only or list(ROWS):
        print(f"[bench] {name}", file=sys.stderr)
        row_start = time.perf_counter()
        cpu_start = time.process_time()
        report["rows"][name] = ROWS[name](s)
        report["rows"][name]["row_seconds"] = time.perf_counter() - row_start
        report["rows"][name]["row_cpu_seconds"] = time.process_time() - cpu_start
        report["rows"][name]["keeps_freed_memory"] = keeps_freed
    report["seconds"] = sum(r.get("row_seconds", 0.0) for r in report["rows"].values())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    markdown = to_markdown(report)
    (args.out / "bench.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
