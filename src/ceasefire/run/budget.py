"""How much work a request may ask for: upper bounds on every size, and a memory estimate checked
before a run starts.

Every size or search option of the command line and the API has an upper bound here
(:data:`LIMITS`), checked before any work. A run whose memory estimate
(:func:`run_bytes`) exceeds the memory this machine has available (:func:`available_bytes`) is
refused with the estimate and the largest size that fits (:func:`check_memory`), instead of
starting and failing part way (or being killed) after minutes.

The estimate counts what a run keeps (the per-path outcomes, the monthly bargaining records of each
sample's first paths, the copies made when chunks are joined and summarized, and, when asked, the
JSON or Parquet document) plus each worker's chunk (noise, state, and the leaders' stopping problems
of the optimal policy). Its constants were measured on the flagship (``bench``-free: a run's arrays
counted with ``nbytes``, the JSON document with ``tracemalloc``): 171 bytes of outcomes per path, 16
bytes per path-month of monthly records, 950 bytes per path at the peak of writing the JSON.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceasefire.errors import CeasefireError
from ceasefire.model.decision import N_FEATURES

__all__ = [
    "LIMITS",
    "BudgetError",
    "Limit",
    "available_bytes",
    "check_memory",
    "check_run_memory",
    "check_spec",
    "run_bytes",
    "simulate",
]


class BudgetError(CeasefireError):
    """A request beyond a size limit or beyond the machine's memory."""


@dataclass(frozen=True)
class Limit:
    """The largest value of a size or search option, and why."""

    high: int
    why: str


LIMITS: dict[str, Limit] = {
    "samples": Limit(1_000_000, "the scenario format's limit on outer samples"),
    "paths": Limit(10_000_000, "the scenario format's limit on inner paths"),
    "horizon": Limit(600, "the scenario format's longest horizon (50 years)"),
    "lookahead": Limit(120, "the scenario format's longest myopic look-ahead"),
    "seed": Limit(2**63 - 1, "seeds are 64-bit, as in scenario files"),
    "month": Limit(600, "no month lies beyond the longest horizon"),
    "within": Limit(600, "no month lies beyond the longest horizon"),
    "popsize": Limit(200, "differential evolution's population is popsize x levers candidates per generation"),
    "maxiter": Limit(1_000, "generations of the search; each runs the whole population"),
    "steps": Limit(1_000, "intensity steps per lever of the search's lattice"),
    "points": Limit(1_048_576, "design points of a sweep (2^20), each simulated on all its paths"),
    "screen": Limit(10_000, "parameters kept apart by the Morris screen"),
    "screen_n": Limit(10_000, "Morris trajectories, each of (parameters + 1) points"),
    "top": Limit(100_000, "rows of a table"),
    "max_boxes": Limit(100, "PRIM boxes, found one after another"),
    "dims": Limit(10_000, "parameters PRIM peels over"),
    "chunk_rows": Limit(1_048_576, "rows of one sweep chunk"),
    "intensities": Limit(100, "lever intensities, each one more run per lever (a grid: their square)"),
}
"""Upper bounds of every size and search option (the command line's ``max=`` uses the same numbers)."""


# -- the memory estimate ----------------------------------------------------------------------------

OUTCOME_BYTES = 176
"""Bytes of per-path outcomes kept by a run (171 measured on the flagship, two objectives), per path."""
OBJECTIVE_BYTES = 8
"""Bytes per path for each objective beyond the flagship's two."""
MONTHLY_BYTES = 17
"""Bytes per path-month of the monthly bargaining records (16 measured), kept for each sample's first
:data:`RECORDED_PATHS` paths."""
RECORDED_PATHS = 4096
JSON_BYTES = 1_000
"""Bytes per path at the peak of building and writing the per-path JSON document (950 measured)."""
PARQUET_BYTES = 600
"""Bytes per path at the peak of writing Parquet (the frame and its Arrow table)."""
KEPT_COPIES = 3
"""A run's outcomes exist up to three times at once: the chunks, the joined arrays, the summary's sorts."""
CHUNK_BYTES = 512 * 2**20
"""Each worker's chunk budget (:func:`ceasefire.run.experiment.chunk_size_for`)."""
INTERPRETER_BYTES = 200 * 2**20
"""Python, NumPy, SciPy and the scenario in the main process."""
WORKER_BYTES = 100 * 2**20
"""The same in each further worker process (the libraries' code pages are shared)."""


def sample_bytes(paths: int, horizon: int, policy: str) -> int:
    """A chunk's bytes per sample of ``paths`` paths: its noise and state, and for the optimal policy two
    imagined wars and two stopping problems (state, stop, flow, discount) per leader."""
    noise = horizon * paths * 10 * 8
    total = noise + paths * 400 * 8
    if policy == "optimal":
        total += 2 * noise + 4 * (horizon + 1) * paths * (N_FEATURES + 3) * 8
    return total


def run_bytes(
    samples: int,
    paths: int,
    horizon: int,
    policy: str = "optimal",
    *,
    runs: int = 1,
    workers: int = 1,
    objectives: int = 2,
    json: bool = False,
    parquet: bool = False,
) -> int:
    """Estimated peak memory, in bytes, of ``runs`` runs of ``samples x paths`` paths over ``horizon``
    months kept together (e.g. 2 with the true-beliefs comparison), on ``workers`` processes."""
    n = samples * paths
    per_path = OUTCOME_BYTES + OBJECTIVE_BYTES * max(objectives - 2, 0)
    recorded = samples * min(paths, RECORDED_PATHS) * horizon * MONTHLY_BYTES
    kept = runs * (n * per_path + recorded) + (KEPT_COPIES - 1) * (n * per_path + recorded)
    output = n * (JSON_BYTES * json + PARQUET_BYTES * parquet)
    return kept + output + _processes_bytes(samples, paths, horizon, policy, workers)


def _processes_bytes(samples: int, paths: int, horizon: int, policy: str, workers: int) -> int:
    """The processes that simulate ``samples`` samples (or design points) of ``paths`` paths: the interpreter
    in each, and each worker's chunk of whole samples, within :data:`CHUNK_BYTES`."""
    used = max(1, min(workers, samples))
    block = sample_bytes(min(paths, RECORDED_PATHS), horizon, policy)  # one sample at the largest block
    chunk = max(block, min(CHUNK_BYTES, -(-samples // used) * block))
    return INTERPRETER_BYTES + used * chunk + (used - 1) * WORKER_BYTES


POINT_BYTES = 64
"""Bytes per design point besides its columns (row index, pandas and Parquet overhead)."""


def sweep_bytes(points: int, columns: int, paths: int, horizon: int, policy: str = "optimal", workers: int = 1) -> int:
    """Estimated peak memory of a sweep of ``points`` design points with ``columns`` numbers each (parameters
    and metrics), their table kept twice (the parts joined, then the results), and each worker simulating
    whole points of ``paths`` paths (as :func:`run_bytes` counts a worker's chunk)."""
    table = 2 * points * (8 * columns + POINT_BYTES)
    return table + _processes_bytes(points, paths, horizon, policy, workers)


def check_sweep_memory(
    points: int, columns: int, paths: int, horizon: int, policy: str = "optimal", workers: int = 1
) -> None:
    """:func:`check_memory` for a sweep (see :func:`sweep_bytes`); the message gives the most points that fit."""

    def largest(room: int) -> str:
        lo = _largest(points, lambda k: sweep_bytes(k, columns, paths, horizon, policy, workers) <= room)
        return f"at most {lo:,} points of {paths:,} paths fit" if lo else "not even one point fits"

    estimate = sweep_bytes(points, columns, paths, horizon, policy, workers)
    check_memory(estimate, f"{points:,} points x {paths:,} paths x {horizon} months", largest)


def available_bytes() -> int | None:
    """Memory this process may still use: the smaller of the machine's available memory and the room left
    under a cgroup (container) limit; ``None`` where neither can be read."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(int(limit) - int(used), 0))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(found)


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def _largest(high: int, fits: Callable[[int], bool]) -> int:
    """The largest ``k`` in ``0 .. high`` for which ``fits(k)`` (0 if none), ``fits`` being monotone."""
    return bisect.bisect_left(range(1, high + 1), True, key=lambda k: not fits(k))


def check_memory(estimate: int, what: str, largest: Callable[[int], str]) -> None:
    """Raise :class:`BudgetError` if ``estimate`` bytes exceed the available memory (nothing is checked where
    it cannot be read). ``what`` names the work, ``largest(available bytes)`` the size that fits."""
    room = available_bytes()
    if room is None or estimate <= room:
        return
    raise BudgetError(
        f"not enough memory for {what}: it needs about {_gib(estimate)} and {_gib(room)} is available; {largest(room)}"
    )


def check_run_memory(
    samples: int,
    paths: int,
    horizon: int,
    policy: str = "optimal",
    *,
    runs: int = 1,
    workers: int = 1,
    objectives: int = 2,
    json: bool = False,
    parquet: bool = False,
) -> None:
    """:func:`check_memory` for a run (see :func:`run_bytes`); the message gives the most samples that fit
    with the same paths, or the most paths for one sample."""

    def need(k: int, m: int) -> int:
        return run_bytes(
            k, m, horizon, policy, runs=runs, workers=workers, objectives=objectives, json=json, parquet=parquet
        )

    def largest(room: int) -> str:
        most = _largest(LIMITS["samples"].high, lambda k: need(k, paths) <= room)
        if most >= 1:
            return f"at most {most:,} samples x {paths:,} paths fit (or use fewer paths)"
        lo = _largest(paths, lambda k: need(1, k) <= room)
        return f"at most 1 sample x {lo:,} paths fits" if lo else "not even 1 sample x 1 path fits"

    check_memory(need(samples, paths), f"{samples:,} samples x {paths:,} paths x {horizon} months", largest)


def check_spec(spec: Any) -> None:
    """Raise :class:`BudgetError` if a run spec's sizes or seed are above their limits (:data:`LIMITS`)."""
    for name in ("samples", "paths", "horizon", "lookahead", "seed"):
        value = getattr(spec, name)
        if isinstance(value, int) and value > LIMITS[name].high:
            raise BudgetError(f"{name} {value:,} is above the limit {LIMITS[name].high:,} ({LIMITS[name].why})")


def simulate(scenario: Any, spec: Any, **kwargs: Any) -> Any:
    """:func:`ceasefire.run.experiment.run` (``ceasefire.simulate``) after the checks a run needs before it
    starts: sizes within :data:`LIMITS` and a memory estimate within the memory available
    (:class:`BudgetError` otherwise, with the estimate and the largest size that fits)."""
    from ceasefire.run.experiment import run

    check_spec(spec)
    workers = spec.workers if spec.workers is not None else max(1, os.cpu_count() or 1)
    check_run_memory(spec.samples, spec.paths, spec.horizon, spec.policy, workers=workers,
                     objectives=len(scenario.objectives))  # fmt: skip
    return run(scenario, spec, **kwargs)
