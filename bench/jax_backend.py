"""Throughput of the JAX backend against the NumPy engine, measured in the same run: path-steps per second.

A path-step is one month of one path of the true war (``samples x paths x horizon`` per run; the
leaders' imagined wars of the optimal policy are not counted, as for the NumPy engine). Three
configurations of the flagship (without its month-0 screen, so both backends simulate the same
parameter samples):

``war``      the war's dynamics, leaders' removal and ceasefires, no deal allowed;
``myopic``   the whole model with myopic leaders and the monthly bargaining range;
``optimal``  the whole model with each leader's least-squares Monte Carlo rule (fitted per sample).

Each backend runs in chunks of samples (NumPy: the engine's own chunk size; JAX: a memory budget,
``--jax-budget-mib``, each chunk then run by the backend in blocks of
:func:`ceasefire.model.jax.engine.samples_per_block` samples, one compiled program). JAX's compile
time is measured apart, as its first call's excess over the median; the throughput is the median of
``--repeats`` timed runs after it. Also reported: the state bytes
read and written per path-step by an ideal fused kernel (:func:`ceasefire.model.jax.engine.state_bytes_per_path_step`)
and XLA's own estimate of the bytes the compiled call accesses, and what that means against a GPU's
memory bandwidth (H100: 3.35 TB/s).

Usage::

    .venv/bin/python bench/jax_backend.py                       # JSON on stdout
    .venv/bin/python bench/jax_backend.py --sizes 1e4,1e5 --configs war,myopic --repeats 5

A measurement whose single run would take longer than ``--max-seconds`` (extrapolated from the
size before) is skipped and reported as ``null``.

``--cases 10x1e4,10x1e5,1x1e6`` measures instead whole runs of ``samples x paths per sample`` (samples of
many paths, simulated in path blocks), the optimal policy by default (``--configs``): the JAX backend's
:func:`ceasefire.model.jax.engine.simulate_blocks` over all the samples against the NumPy engine's
:func:`ceasefire.run.experiment.simulate_samples` on one worker, alternating repeats in the same process::

    .venv/bin/python bench/jax_backend.py --cases 10x1e4,10x1e5,1x1e6 --horizon 12 --configs optimal
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

H100_BANDWIDTH = 3.35e12
"""Bytes per second of an NVIDIA H100 SXM's HBM3."""


def flagship() -> Any:
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario("russia-ukraine-2026")
    return sc.model_copy(update={"scenario": sc.scenario.model_copy(update={"no_deal_at_start": False})})


def config_for(name: str, horizon: int, bargaining_range: bool = True) -> Any:
    from ceasefire.model.engine import RunConfig

    if name == "war":
        return RunConfig(horizon=horizon, allow_settlement=False, bargaining_range=False)
    return RunConfig(horizon=horizon, policy=name, bargaining_range=bargaining_range)


def jax_chunk(paths: int, horizon: int, policy: str, budget_mib: int) -> int:
    """Samples per JAX call within the budget: the carry and monthly outputs, and with the optimal
    policy both leaders' stored stopping problems (5 regressors, stop, flow, discount; two types)."""
    per_path = 600 + horizon * 40
    if policy == "optimal":
        per_path += 2 * 2 * (horizon + 1) * 8 * 8 * 2
    return max(1, budget_mib * 2**20 // (per_path * paths))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_numpy(sc: Any, values: Any, seeds: list[Any], paths: int, config: Any, chunk: int) -> None:
    """The NumPy engine over all samples, ``chunk`` samples a call (parameters repeated per path)."""
    from ceasefire.model import engine
    from ceasefire.model.engine import per_path

    for lo in range(0, len(seeds), chunk):
        part = {k: v[lo : lo + chunk] for k, v in values.items()}
        engine.simulate(sc, per_path(part, paths), seeds[lo : lo + chunk], paths, config)


def run_jax(sc: Any, values: Any, seeds: list[Any], paths: int, config: Any, chunk: int) -> None:
    """The JAX backend over all samples, ``chunk`` samples a call (parameters per sample)."""
    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.scenario.build import structure_of

    for lo in range(0, len(seeds), chunk):
        part = {k: v[lo : lo + chunk] for k, v in values.items()}
        jax_engine.simulate_blocks(structure_of(sc), part, seeds[lo : lo + chunk], paths, config)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import jax

    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.run.experiment import candidate_parameters, chunk_size_for
    from ceasefire.run.sampling import Seeds

    sc = flagship()
    seeds_tree = Seeds.from_seed(args.seed)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    paths, horizon = args.paths, args.horizon
    results: list[dict[str, Any]] = []
    n_terms, n_obj = len(sc.terms), len(sc.objectives)
    for name in args.configs.split(","):
        config = config_for(name, horizon)
        policy = config.policy if config.allow_settlement else "war"
        last: dict[str, float | None] = {"numpy": None, "jax": None}
        for size in sizes:
            samples = max(1, size // paths)
            steps = samples * paths * horizon
            values = candidate_parameters(sc, samples, seeds_tree, 0)
            seeds = [seeds_tree.path_seed(i) for i in range(samples)]
            row: dict[str, Any] = {"config": name, "paths_total": samples * paths, "samples": samples}
            row.update({"paths_per_sample": paths, "horizon": horizon, "path_steps": steps})

            np_chunk = chunk_size_for(paths, horizon, config.policy)
            jx_chunk = min(samples, jax_chunk(paths, horizon, policy, args.jax_budget_mib))

            run_np = partial(run_numpy, sc, values, seeds, paths, config, np_chunk)
            run_jx = partial(run_jax, sc, values, seeds, paths, config, jx_chunk)

            row["jax_chunk_samples"], row["numpy_chunk_samples"] = jx_chunk, min(np_chunk, samples)
            row["jax_samples_per_block"] = jax_engine.samples_per_block(paths)
            for backend, fn in (("numpy", run_np), ("jax", run_jx)):
                rate = last[backend]
                expected = steps / rate if rate else 0.0
                if expected > args.max_seconds:
                    row[f"{backend}_seconds"] = None
                    row[f"{backend}_path_steps_per_s"] = None
                    row[f"{backend}_skipped"] = f"one run would take about {expected:.0f} s"
                    continue
                # JAX's first run compiles every chunk shape: its excess over the median is the compile time
                first = timed(fn) if backend == "jax" else None
                repeats = args.repeats if expected * args.repeats <= args.max_seconds else 1
                times = [timed(fn) for _ in range(repeats)]
                median = statistics.median(times)
                if first is not None:
                    row["jax_compile_s"] = max(first - median, 0.0)
                row[f"{backend}_seconds"] = median
                row[f"{backend}_repeats"] = repeats
                row[f"{backend}_path_steps_per_s"] = steps / median
                last[backend] = steps / median
            if row.get("numpy_path_steps_per_s") and row.get("jax_path_steps_per_s"):
                row["jax_over_numpy"] = row["jax_path_steps_per_s"] / row["numpy_path_steps_per_s"]
            results.append(row)
            print(json.dumps(row), file=sys.stderr)

        bytes_model = jax_engine.state_bytes_per_path_step(config, n_terms, n_obj)
        xla = xla_bytes(sc, config, paths, args.seed)
        per_step = bytes_model["total"]
        for row in results:
            if row["config"] == name:
                row["state_bytes_per_path_step"] = bytes_model
                row["xla_bytes_accessed_per_path_step"] = xla
                row["h100_bandwidth_bound_path_steps_per_s"] = H100_BANDWIDTH / per_step
                if xla:
                    row["h100_bound_from_xla_bytes"] = H100_BANDWIDTH / xla
    return {
        "benchmark": "jax_backend",
        "machine": {"platform": platform.platform(), "cpu_count": __import__("os").cpu_count()},
        "jax": {"version": jax.__version__, "devices": [str(d) for d in jax.devices()]},
        "note": "medians of timed runs after compilation; compile time separate; path-steps of the true war",
        "results": results,
    }


def measure_cases(args: argparse.Namespace) -> dict[str, Any]:
    """``samples x paths`` runs (``--cases``): both backends over all the samples, medians of ``--repeats``
    alternating timed runs, JAX's first (compiling) call excluded; NumPy only up to ``--numpy-max-steps``
    path-steps. With ``--memory``, each case's JAX run once more in a fresh process, for its peak memory."""
    import jax

    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.run import experiment
    from ceasefire.run.experiment import candidate_parameters
    from ceasefire.run.sampling import Seeds
    from ceasefire.scenario.build import structure_of

    sc = flagship()
    tree = Seeds.from_seed(args.seed)
    results: list[dict[str, Any]] = []
    for name in args.configs.split(","):
        config = config_for(name, args.horizon, not args.no_range)
        for case in args.cases.split(","):
            samples, paths = parse_case(case)
            values = candidate_parameters(sc, samples, tree, 0)
            seeds = [tree.path_seed(i) for i in range(samples)]
            steps = samples * paths * args.horizon

            def run_np(values: Any = values, seeds: Any = seeds, paths: int = paths, config: Any = config) -> None:
                experiment.simulate_samples(sc, values, seeds, paths, config, {}, 0, workers=1)

            def run_jx(values: Any = values, seeds: Any = seeds, paths: int = paths, config: Any = config) -> None:
                jax_engine.simulate_blocks(structure_of(sc), values, seeds, paths, config)

            backends = {"jax": run_jx}
            if steps <= args.numpy_max_steps:
                backends["numpy"] = run_np
            first = timed(run_jx)
            times: dict[str, list[float]] = {b: [] for b in backends}
            for _ in range(args.repeats):
                for backend, fn in backends.items():
                    times[backend].append(timed(fn))
            row: dict[str, Any] = {"config": name, "samples": samples, "paths_per_sample": paths}
            row.update({"horizon": args.horizon, "bargaining_range": config.bargaining_range})
            row.update({"path_steps": steps, "repeats": args.repeats, "jax_first_call_s": first})
            row["path_block"] = getattr(jax_engine, "path_block", lambda: None)()
            for backend, ts in times.items():
                row[f"{backend}_seconds"] = ts
                row[f"{backend}_path_steps_per_s"] = steps / statistics.median(ts)
            if "numpy" in times:
                row["jax_over_numpy"] = row["jax_path_steps_per_s"] / row["numpy_path_steps_per_s"]
            row["load_average"] = os.getloadavg()
            if args.memory:
                row["jax_memory"] = memory_in_child(name, case, args)
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
    return {
        "benchmark": "jax_backend_cases",
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "jax": {"version": jax.__version__, "devices": [str(d) for d in jax.devices()]},
        "note": "medians of alternating timed runs; JAX's first call (compiling) excluded; NumPy on one worker",
        "results": results,
    }


def parse_case(case: str) -> tuple[int, int]:
    """``SAMPLESxPATHS`` (``10x1e5``) as numbers."""
    samples_text, paths_text = case.split("x")
    return int(float(samples_text)), int(float(paths_text))


def memory_in_child(name: str, case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of one JAX run of ``case`` in a fresh process (:func:`child_memory`)."""
    command = [sys.executable, __file__, "--child-memory", case, "--configs", name, "--horizon", str(args.horizon)]
    command += ["--seed", str(args.seed)] + (["--no-range"] if args.no_range else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def peak_rss() -> int:
    """The process's peak resident memory in bytes: ``VmHWM`` where Linux reports it (``ru_maxrss``
    would include the parent's, kept across ``fork`` and ``exec``), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_memory(args: argparse.Namespace) -> dict[str, Any]:
    """One JAX run: the process's peak resident memory, the device's peak (where JAX reports it), and the
    bytes of the per-path outputs (which grow with paths by design)."""
    import jax

    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.run.experiment import candidate_parameters
    from ceasefire.run.sampling import Seeds
    from ceasefire.scenario.build import structure_of

    samples, paths = parse_case(args.child_memory)
    config = config_for(args.configs.split(",")[0], args.horizon, not args.no_range)
    tree = Seeds.from_seed(args.seed)
    values = candidate_parameters(flagship(), samples, tree, 0)
    before = peak_rss()
    seeds = [tree.path_seed(i) for i in range(samples)]
    out = jax_engine.simulate_blocks(structure_of(flagship()), values, seeds, paths, config)
    outputs = 0
    for value in vars(out).values():
        for a in value.values() if isinstance(value, dict) else [value]:
            outputs += np.asarray(a).nbytes
    peak = peak_rss()
    stats = jax.devices()[0].memory_stats() or {}
    return {
        "host_peak_rss_bytes": peak,
        "host_rss_before_run_bytes": before,
        "outputs_bytes": outputs,
        "host_peak_less_outputs_bytes": peak - outputs,
        "device_peak_bytes": stats.get("peak_bytes_in_use"),
    }


def xla_bytes(sc: Any, config: Any, paths: int, seed: int, samples: int = 16) -> float | None:
    """XLA's cost analysis of the compiled call: bytes accessed per path-step.

    The compiled program is one block of :func:`ceasefire.model.jax.engine.samples_per_block` samples.
    XLA counts a loop's body once, not once per month, so the month loop's bytes are divided by the
    block's paths only (one month); the optimal policy's imagined wars and fits are counted once too.
    An estimate of the traffic of XLA's own kernels, not a measurement.
    """
    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.run.experiment import candidate_parameters
    from ceasefire.run.sampling import Seeds
    from ceasefire.scenario.build import structure_of

    tree = Seeds.from_seed(seed)
    values = candidate_parameters(sc, samples, tree, 0)
    seeds = [tree.path_seed(i) for i in range(samples)]
    cost = jax_engine.lower(structure_of(sc), values, seeds, paths, config).cost_analysis()
    if isinstance(cost, list):
        cost = cost[0] if cost else None
    if not cost or "bytes accessed" not in cost:
        return None
    return float(cost["bytes accessed"]) / (min(samples, jax_engine.samples_per_block(paths)) * paths)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="total paths (samples x paths per sample)")
    parser.add_argument("--paths", type=int, default=200, help="paths per sample")
    parser.add_argument("--horizon", type=int, default=24, help="months")
    parser.add_argument("--configs", default="war,myopic,optimal")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260201)
    parser.add_argument("--max-seconds", type=float, default=240.0, help="skip a run expected to take longer")
    parser.add_argument("--jax-budget-mib", type=int, default=2048, help="memory per JAX call")
    parser.add_argument("--cases", default="", help="whole runs SAMPLESxPATHS, e.g. 10x1e4,1x1e6 (see above)")
    parser.add_argument("--numpy-max-steps", type=float, default=float("inf"), help="--cases: NumPy up to this")
    parser.add_argument("--no-range", action="store_true", help="--cases: without the monthly bargaining range")
    parser.add_argument("--memory", action="store_true", help="--cases: peak memory of a JAX run, fresh process")
    parser.add_argument("--child-memory", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    np.seterr(all="ignore")
    if args.child_memory:
        result = child_memory(args)
    else:
        result = measure_cases(args) if args.cases else measure(args)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
