"""Work on several cores: the same bits as on one, errors and progress as on one, no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.errors import CeasefireError
from ceasefire.model.engine import PATH_BLOCK, Outcomes, RunConfig, fit_rules, per_path
from ceasefire.model.rules import join_rules
from ceasefire.run import executor, experiment
from ceasefire.run.executor import (
    WORKERS_ENV,
    InlineExecutor,
    ProcessExecutor,
    WorkerError,
    executor_for,
    in_worker,
    resolve_workers,
    split,
)
from ceasefire.run.experiment import RunSpec, run, simulate_samples
from ceasefire.run.guards import NumericalError
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.build import params_of, structure_of
from ceasefire.scenario.load import load_scenario
from test_guards import EXPECTED_OVERFLOW, OVERFLOW, overflowing
from test_guards import scenario as guard_scenario

FLAGSHIP = "russia-ukraine-2026"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sc() -> Any:
    return load_scenario(FLAGSHIP)


def _arrays(o: Outcomes) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for f in fields(o):
        value = getattr(o, f.name)
        for k, v in value.items() if isinstance(value, dict) else [("", value)]:
            out[f"{f.name}.{k}" if k else f.name] = np.asarray(v)
    return out


def assert_same(a: Outcomes, b: Outcomes) -> None:
    """Every field equal, NaN where NaN, same dtype and shape: the same bits."""
    x, y = _arrays(a), _arrays(b)
    assert x.keys() == y.keys()
    assert "monthly.range_low" in x  # the monthly record (with its NaNs) is compared too
    for k in x:
        assert x[k].dtype == y[k].dtype and x[k].shape == y[k].shape, k
        assert np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f"), k
        assert x[k].tobytes() == y[k].tobytes(), k


def _samples(sc: Any, n: int, seed: int = 11) -> tuple[dict[str, np.ndarray], list[np.random.SeedSequence]]:
    seeds = Seeds.from_seed(seed)
    return sample_parameters(sc, n, seeds.parameters), [seeds.path_seed(i) for i in range(n)]


# -- the same bits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["optimal", "myopic"])
def test_blocks_of_many_paths_give_the_same_bits_on_any_number_of_workers(sc: Any, policy: str) -> None:
    # 4 samples x 5000 paths: two blocks each (4096 + 904), rules fitted per group of samples
    values, seeds = _samples(sc, 4)
    config = RunConfig(horizon=3, policy=policy)
    paths = PATH_BLOCK + 904
    one = simulate_samples(sc, values, seeds, paths, config, {}, offset=7, workers=1)
    assert one.monthly_paths.sum() == 4 * PATH_BLOCK  # the range's columns: each sample's first block
    for n in (2, 3):
        assert_same(one, simulate_samples(sc, values, seeds, paths, config, {}, offset=7, workers=n))
    assert one.sample.tolist() == np.repeat(np.arange(4) + 7, paths).tolist()


def test_many_samples_give_the_same_bits_on_any_number_of_workers(sc: Any) -> None:
    values, seeds = _samples(sc, 13)
    config = RunConfig(horizon=12)
    one = simulate_samples(sc, values, seeds, 20, config, {}, workers=1)
    for n in (2, 3):
        assert_same(one, simulate_samples(sc, values, seeds, 20, config, {}, workers=n))


def test_runs_give_the_same_bits_on_any_number_of_workers_and_chunks(sc: Any) -> None:
    spec = RunSpec.from_scenario(sc, samples=12, paths=20, horizon=24, seed=3)
    one = run(sc, spec, workers=1)
    for n, chunk in ((2, None), (2, 1), (3, 5), (3, None)):
        other = run(sc, replace(spec, workers=n), chunk_samples=chunk)
        assert np.array_equal(other.candidates, one.candidates)
        assert all(np.array_equal(other.parameters[k], one.parameters[k]) for k in one.parameters)
        assert_same(one.outcomes, other.outcomes)
    # levers and true beliefs on the same samples (common random numbers): chunks of samples in parallel
    levered = replace(spec, levers={"secondary-oil-sanctions": 1.0}, beliefs="true")
    a = run(sc, levered, samples_of=one, workers=1)
    b = run(sc, levered, samples_of=one, workers=3, chunk_samples=2)
    assert_same(a.outcomes, b.outcomes)


def test_the_screen_keeps_the_same_samples_when_some_are_screened_out() -> None:
    # myopic leaders settle in month 0 for some draws: the parallel screen keeps the first consistent ones.
    # The flagship signs nothing in month 0 under Model 2 (its talks take months), so a toy without a
    # negotiation lag, observed at war at its start, has draws for the screen to leave out.
    from conftest import DEALS

    deals = load_scenario(DEALS)
    sc = deals.model_copy(update={"scenario": deals.scenario.model_copy(update={"no_deal_at_start": True})})
    spec = RunSpec.from_scenario(sc, samples=40, paths=3, horizon=3, seed=2, policy="myopic")
    one = run(sc, spec, workers=1, chunk_samples=7)
    assert one.samples_drawn > spec.samples  # some candidates were screened out
    for n, chunk in ((3, 4), (2, None)):
        other = run(sc, replace(spec, workers=n), chunk_samples=chunk)
        assert np.array_equal(one.candidates, other.candidates) and other.samples_drawn == one.samples_drawn
        assert_same(one.outcomes, other.outcomes)


def test_rules_fitted_by_groups_of_samples_join_to_the_rules_fitted_together(sc: Any) -> None:
    values, seeds = _samples(sc, 5)
    config = RunConfig(horizon=4)
    st = structure_of(sc)
    together = fit_rules(st, params_of(st, per_path(values, 64)), seeds, 64, config, {})
    parts = []
    for lo, hi in ((0, 2), (2, 3), (3, 5)):
        part = params_of(st, per_path({k: v[lo:hi] for k, v in values.items()}, 64))
        parts.append(fit_rules(st, part, seeds[lo:hi], 64, config, {}))
    assert together is not None and all(p is not None for p in parts)
    joined = join_rules([p for p in parts if p is not None])
    assert joined.samples == together.samples == 5
    for s in together.rules:
        for g in (0, 1):
            a, b = together.rules[s][g].coefficients, joined.rules[s][g].coefficients
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
            assert np.array_equal(together.low[s][g], joined.low[s][g])
            assert np.array_equal(together.high[s][g], joined.high[s][g])
    back = joined.take(np.array([3, 0]))
    assert np.array_equal(back.low["A"][0], together.take(np.array([3, 0])).low["A"][0])


# -- how many workers ------------------------------------------------------------------------------


def test_automatic_workers_one_for_small_work_all_cores_for_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    monkeypatch.setattr(executor, "cpus", lambda: 6)
    assert resolve_workers(None, 100, 10) == 1  # too small to pay for starting processes
    assert resolve_workers(None, 100, 1e12) == 6
    assert resolve_workers(None, 4, 1e12) == 4  # no more workers than units
    assert resolve_workers(None, 100, 1e12, useful=3) == 3
    assert resolve_workers(None, 1, 1e12) == 1
    assert resolve_workers(3, 100, 10) == 3  # asked for: given, whatever the size
    assert resolve_workers(8, 5, 10) == 5
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert resolve_workers(None, 100, 10) == 2
    assert resolve_workers(1, 100, 1e12) == 1  # an explicit number beats the environment
    monkeypatch.setenv(WORKERS_ENV, "auto")
    assert resolve_workers(None, 100, 1e12) == 6
    monkeypatch.setenv(WORKERS_ENV, "many")
    with pytest.raises(CeasefireError, match=WORKERS_ENV):
        resolve_workers(None, 100, 1e12)
    with pytest.raises(ValueError, match="workers"):
        resolve_workers(0, 100, 1e12)


def test_sweeps_default_to_the_environments_workers_else_every_cpu(monkeypatch: pytest.MonkeyPatch, sc: Any) -> None:
    from ceasefire.run.sweep import SweepSpec

    spec = SweepSpec.from_scenario(sc, paths=8, horizon=12)
    monkeypatch.setattr(executor, "cpus", lambda: 6)
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert executor_for(spec.default_workers()).workers == 6  # a sweep's work is never too small
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert executor_for(spec.default_workers()).workers == 3
    jax = executor_for(replace(spec, backend="jax").default_workers())  # JAX uses every core by itself
    assert isinstance(jax, InlineExecutor)
    monkeypatch.setenv(WORKERS_ENV, "many")
    with pytest.raises(CeasefireError, match=WORKERS_ENV):
        executor_for(spec.default_workers())


def test_units_share_the_work_evenly_and_stay_large_enough() -> None:
    for n in range(1, 60):
        for w in (1, 2, 3, 8):
            for least in (1, 5, 40):
                size = split(n, w, least=least)
                assert 1 <= size <= max(n, 1)
                assert -(-n // size) >= min(w, n)  # every worker gets a unit when there are enough items
                assert size >= min(least, n // w)


def test_a_spec_with_workers_equals_the_spec_without(sc: Any) -> None:
    spec = RunSpec.from_scenario(sc, samples=3, paths=4)
    assert replace(spec, workers=4) == spec  # how to run, not what: the same spec
    with pytest.raises(ValueError, match="workers"):
        replace(spec, workers=0).validate(sc)


# -- inside a worker -------------------------------------------------------------------------------


def _inside(asked: int) -> tuple[bool, int, str, int]:
    """Run in a worker: is it marked, how many workers would a run there use, its BLAS threads."""
    from threadpoolctl import threadpool_info

    blas = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1)
    return in_worker(), resolve_workers(asked, 100, 1e12), os.environ.get(WORKERS_ENV, ""), blas


def _pause(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _errors() -> dict[str, str]:
    """Run in a worker: its NumPy floating-point error handling."""
    return dict(np.geterr())


def _map(fn: Any, tasks: list[tuple[Any, ...]], workers: int) -> list[tuple[int, Any]]:
    with executor_for(workers) as ex:
        return list(ex.map_unordered(fn, tasks))


def test_workers_use_one_core_inside_and_start_no_processes_of_their_own() -> None:
    seen = dict(_map(_inside, [(4,)] * 6, 2))
    assert len(seen) == 6 and not in_worker()
    assert all(v == (True, 1, "1", 1) for v in seen.values())
    assert isinstance(executor_for(1), InlineExecutor)


def test_workers_handle_floating_point_errors_as_the_process_that_started_them() -> None:
    """The command line ignores NumPy's floating-point warnings (the numerical guard stops a non-finite
    result); its workers must too, or an overflow in a worker prints a RuntimeWarning to the user."""
    executor.shutdown_pool()
    try:
        with np.errstate(all="ignore"):
            seen = [v for _, v in _map(_errors, [()] * 4, 2)]
        assert seen and all(set(v.values()) == {"ignore"} for v in seen)
    finally:
        executor.shutdown_pool()  # the next tests start a pool with the default handling


def test_results_come_back_once_each_whatever_finishes_first() -> None:
    delays = [0.3, 0.0, 0.2, 0.0, 0.1, 0.0]
    got = _map(_pause, [(d,) for d in delays], 3)
    assert sorted(k for k, _ in got) == list(range(len(delays)))
    assert len({pid for _, pid in got}) >= 2 and os.getpid() not in {pid for _, pid in got}  # shared out
    slow_first = [k for k, _ in _map(_pause, [(2.0,), (0.0,), (0.0,)], 2)]
    assert slow_first[-1] == 0  # as they finish, not in order


def test_an_executor_entered_again_keeps_its_processes_and_a_later_one_reuses_them() -> None:
    executor.shutdown_pool()  # a new pool: its processes start as units need them, two at most here
    ex = ProcessExecutor(2)
    seen: list[set[int]] = []
    with ex:
        seen.append({pid for _, pid in ex.map_unordered(_pause, [(0.2,)] * 4)})
        with ex:
            seen.append({pid for _, pid in ex.map_unordered(_pause, [(0.2,)] * 4)})
        seen.append({pid for _, pid in ex.map_unordered(_pause, [(0.2,)] * 4)})
    with executor_for(2) as again:  # no start-up to pay: the same processes
        seen.append({pid for _, pid in again.map_unordered(_pause, [(0.2,)] * 4)})
    assert len(set().union(*seen)) == 2 and os.getpid() not in set().union(*seen)
    with pytest.raises(RuntimeError, match="with block"):
        list(ex.map_unordered(_pause, [(0.0,)]))


# -- errors ----------------------------------------------------------------------------------------


def _fails_from(i: int, first_bad: int) -> int:
    if i >= first_bad:
        time.sleep(0.05 * (10 - i))  # later units fail first
        raise NumericalError(workers_finding(i), sample=i, month=2, variable="casualties_A", parameters={"a.b": 1e300})
    time.sleep(0.3)
    return i


def workers_finding(i: int) -> Any:
    from ceasefire.run.guards import Finding

    return Finding("casualties_total.A", 0, i, float("inf"))


def test_an_error_in_a_worker_is_the_error_of_the_first_failing_unit_as_on_one_core() -> None:
    tasks = [(i, 4) for i in range(10)]
    with pytest.raises(NumericalError) as serial:
        _map(_fails_from, tasks, 1)
    with pytest.raises(NumericalError) as parallel:
        _map(_fails_from, tasks, 3)
    assert str(parallel.value) == str(serial.value)
    assert parallel.value.sample == 4 and parallel.value.parameters == {"a.b": 1e300}
    assert parallel.value.__cause__ is None  # no pool traceback attached


@EXPECTED_OVERFLOW
def test_the_numerical_guard_in_a_worker_reads_as_on_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from ceasefire.run import guards

    monkeypatch.setattr(guards, "DIAGNOSIS_SECONDS", 5.0)
    bad = guard_scenario(overflowing())
    spec = RunSpec.from_scenario(bad, samples=4, paths=4, horizon=12, policy="myopic", seed=5)
    with pytest.raises(NumericalError) as serial:
        run(bad, spec, workers=1, chunk_samples=1)
    with pytest.raises(NumericalError) as parallel:
        run(bad, spec, workers=2, chunk_samples=1)
    assert str(parallel.value) == str(serial.value)
    assert parallel.value.sample == serial.value.sample and any(p in str(parallel.value) for p in OVERFLOW)


def _dies_in_a_worker(i: int) -> int:
    if in_worker():
        os._exit(3)
    time.sleep(0.2)
    return i


def test_a_worker_that_dies_is_a_clear_error_and_the_next_run_starts_a_new_pool() -> None:
    got: list[int] = []
    with pytest.raises(WorkerError, match="died"), executor_for(2) as ex:
        got.extend(k for k, _ in ex.map_unordered(_dies_in_a_worker, [(i,) for i in range(20)]))
    assert got == []  # every unit was computed in a worker, and every worker died
    assert sorted(k for k, _ in _map(_pause, [(0.0,)] * 4, 2)) == [0, 1, 2, 3]


def _fails_or_waits(i: int, where: str) -> int:
    if i == 0:
        time.sleep(0.5)
        raise ValueError("unit 0 failed")
    Path(where, str(os.getpid())).touch()
    time.sleep(60)
    return i


def test_an_error_stops_the_units_still_running(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(ValueError, match="unit 0 failed") as info, executor_for(2) as ex:
        list(ex.map_unordered(_fails_or_waits, [(0, str(tmp_path)), (1, str(tmp_path))]))
    assert time.monotonic() - start < 30  # not the 60 s of the unit still running
    assert "_fails_or_waits" in str(info.value.__cause__)  # the worker's traceback
    waiting = {int(p.name) for p in tmp_path.iterdir()}
    assert len(waiting) == 1 and not _alive(waiting)


def test_progress_is_reported_here_as_chunks_finish(sc: Any) -> None:
    spec = RunSpec.from_scenario(sc, samples=9, paths=10, horizon=6, seed=1, workers=3)
    calls: list[tuple[int, int, int]] = []
    import threading

    run(sc, spec, chunk_samples=2, progress=lambda done, total: calls.append((done, total, threading.get_ident())))
    assert calls and calls[-1][:2] == (9, 9)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert {c[2] for c in calls} == {threading.get_ident()}


# -- no process left behind ------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    # Ctrl-C as in a terminal's foreground: a shell's background job (CI runners often are one)
    # starts with SIGINT ignored, and Python then keeps ignoring it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {tests!r})
    from test_executor import _pause
    from ceasefire.run.executor import executor_for

    if __name__ == "__main__":
        with executor_for(3) as ex:
            list(ex.map_unordered(_pause, [(0.05,)] * 6))  # the processes are up
            print("ready", flush=True)
            list(ex.map_unordered(_pause, [(60.0,)] * 6))
    """
)


def _descendants(root: int) -> set[int]:
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: set[int] = set()
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        children = {c for c, p in parent.items() if p == pid} - found
        found |= children
        frontier.extend(children)
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_killed_or_interrupted_parent_leaves_no_process(tmp_path: Path, how: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        family = _descendants(proc.pid)
        assert len(family) >= 2  # the pool's processes (and the fork server)
        if how == "SIGKILL":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _alive(family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(family), f"left behind: {_alive(family)}"
    finally:
        if proc.poll() is None:
            proc.kill()


# -- the command line ------------------------------------------------------------------------------


def test_cli_workers_option_gives_the_same_numbers(tmp_path: Path) -> None:
    runner = CliRunner()
    docs = []
    for n in ("1", "2"):
        out = tmp_path / f"w{n}.json"
        args = ["run", FLAGSHIP, "--samples", "6", "--paths", "15", "--horizon", "12", "--workers", n, "-q"]
        result = runner.invoke(app, [*args, "--json", str(out)])
        assert result.exit_code == 0, result.output
        doc = json.loads(out.read_text(encoding="utf-8"))
        doc["summary"].pop("seconds", None)
        docs.append(doc)
    assert docs[0]["summary"] == docs[1]["summary"]
    assert docs[0]["paths"] == docs[1]["paths"]
    bad = runner.invoke(app, ["run", FLAGSHIP, "--samples", "2", "--paths", "2", "--workers", "0"])
    assert bad.exit_code == 2
    env = runner.invoke(app, ["run", FLAGSHIP, "--samples", "2", "--paths", "2", "-q"], env={WORKERS_ENV: "lots"})
    assert env.exit_code == 2 and "CEASEFIRE_WORKERS" in env.output and "Traceback" not in env.output


def test_an_unguarded_script_falls_back_to_one_core_with_a_warning(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            sys.path.insert(0, {tests!r})
            from test_executor import _pause
            from ceasefire.run.executor import executor_for
            with executor_for(2) as ex:
                print(ex.workers, sorted(k for k, _ in ex.map_unordered(_pause, [(0.3,)] * 6)))
            """
        ).format(tests=str(Path(__file__).parent)),
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "1 [0, 1, 2, 3, 4, 5]"  # one worker: this process
    assert "if __name__ == '__main__':" in done.stderr and "RuntimeWarning" in done.stderr


def test_experiment_module_names_its_units_for_the_pool() -> None:
    # the units are module-level functions (picklable by reference), not closures
    for fn in (
        experiment._simulate_rows,
        experiment.simulate_values,
        experiment._simulate_blocks,
        experiment._fit_rules,
    ):
        assert fn.__module__ == "ceasefire.run.experiment" and "<locals>" not in fn.__qualname__
