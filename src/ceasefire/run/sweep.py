"""Sweeps: many independent experiments over common random numbers, run locally or on Dask.

What to run is kept apart from how it is run:

* a **design** is a table (:class:`pandas.DataFrame`) of experiments, one row each. A column is
  either a parameter's dotted path (``attrition.exchange_ratio``) holding that parameter's value,
  or ``lever:ID`` holding a lever's intensity. Parameters without a column are held at the
  scenario's *nominal* value (the median of their distribution, the value of a fixed one);
  levers without a column are off. A design never samples by itself: samplers
  (:func:`latin_hypercube`, :func:`design_from_unit`) make designs.
* a :class:`SweepSpec` says how each row is simulated (paths, horizon, policy, beliefs, seed)
  and which registered :data:`METRICS` are computed per row;
* an **executor** (:func:`ceasefire.run.executor.executor_for`) evaluates chunks of rows: in this process, on a
  local pool of processes, or on a Dask distributed cluster.

**Common random numbers.** Every row is simulated on the *same* ``paths`` paths: row ``i``'s
paths draw their noise from the seed ``Seeds.from_seed(seed).path_seed(0)``, whatever ``i``.
Two rows differ only by their parameters and levers, never by noise, so differences between rows
are effects, not Monte Carlo error (Glasserman 2004, sec. 4.2).

**Chunks are independent.** The engine simulates each outer sample on its own
(:func:`ceasefire.model.engine.simulate_chunk`), so a row's numbers are bit-identical whatever the chunk
size, the number of workers or the executor.

**Incremental results.** With ``out=DIR`` each finished chunk is written as
``DIR/part-NNNNN.parquet`` (a temporary file, then a rename), after ``DIR/manifest.json`` and
``DIR/design.parquet``; at the end ``DIR/results.parquet`` joins the design and the metrics.
``resume=True`` checks the manifest against this sweep, keeps the valid parts and computes the
others: the result is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ceasefire import __version__
from ceasefire.errors import CeasefireError
from ceasefire.model.engine import Outcomes, RunConfig
from ceasefire.run.executor import Executor, InlineExecutor, WorkerError
from ceasefire.run.experiment import check_settings, chunk_size_for, simulate_values, spec_from_scenario
from ceasefire.run.guards import check_chunk
from ceasefire.run.platform import numerical_platform
from ceasefire.run.sampling import Seeds, Values
from ceasefire.run.store import nan_as_null, write_atomic
from ceasefire.run.summary import survival_counts, survival_from_counts
from ceasefire.scenario.load import scenario_digest
from ceasefire.scenario.schema import SIDES, Scenario, iter_params, param_domain

__all__ = [
    "LEVER_PREFIX",
    "METRICS",
    "Metric",
    "SweepError",
    "SweepSpec",
    "check_design",
    "design_from_unit",
    "design_hash",
    "evaluate_chunk",
    "latin_hypercube",
    "model_factors",
    "run_sweep",
]

LEVER_PREFIX = "lever:"
"""Design columns ``lever:ID`` hold lever ``ID``'s intensity."""
FORMAT = 1
"""Version of the on-disk layout (manifest, parts)."""
MANIFEST, DESIGN, RESULTS = "manifest.json", "design.parquet", "results.parquet"
PART = re.compile(r"^part-(\d{5})\.parquet$")
TEMPORARY = re.compile(r"^\.(part-\d{5}|manifest|design|results)\.(parquet|json)\..+\.tmp$")


class SweepError(CeasefireError):
    """A sweep that cannot start or go on: the message says what happened and what is kept."""


# -- metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInput:
    """The outcomes of ``rows`` consecutive rows (samples ``0 .. rows-1``), ``paths`` paths each."""

    outcomes: Outcomes
    rows: int
    paths: int
    horizon: int
    values: Values  # per-row parameter values (levers not applied)

    def by_row(self, x: NDArray[Any]) -> NDArray[Any]:
        """A per-path array as ``(rows, paths)``."""
        return np.asarray(x).reshape(self.rows, self.paths)

    def mean(self, x: NDArray[Any]) -> NDArray[np.float64]:
        """Mean over each row's paths."""
        return self.by_row(np.asarray(x, dtype=float)).mean(axis=1)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Metric:
    """A number per row of a sweep, computed from its paths' outcomes."""

    name: str
    description: str
    unit: str
    compute: Callable[[MetricInput], NDArray[np.float64]]
    min_horizon: int = 1


def _settle_within(months: int, m: MetricInput) -> NDArray[np.float64]:
    first = m.outcomes.first_settlement
    return m.mean((first >= 0) & (first < months))


def _median_month(m: MetricInput) -> NDArray[np.float64]:
    first = m.by_row(m.outcomes.first_settlement).astype(float)
    first = np.where(first >= 0, first, np.inf)
    med = np.sort(first, axis=1)[:, (m.paths - 1) // 2]
    return np.where(np.isfinite(med), med, np.nan)


def _months_at_war(m: MetricInput) -> NDArray[np.float64]:
    first = m.outcomes.first_settlement
    return m.mean(np.where(first >= 0, first, m.horizon))


def _holds(months: int, m: MetricInput) -> NDArray[np.float64]:
    """The Kaplan-Meier survival of each row's simulated first ceasefires, as the run summary's."""
    o = m.outcomes
    cf = o.first_settlement >= 0
    row = np.repeat(np.arange(m.rows), m.paths)[cf]
    at_risk, ended = survival_counts(o.ceasefire_months[cf], o.ceasefire_broke[cf], months, row, m.rows)
    return survival_from_counts(at_risk, ended)


def _held_share(m: MetricInput) -> NDArray[np.float64]:
    area = np.repeat(m.values["territory.area_km2"], m.paths)
    return m.mean(m.outcomes.held_at_end / area)


def _per_side(outcome: str, side: str, m: MetricInput) -> NDArray[np.float64]:
    return m.mean(getattr(m.outcomes, outcome)[side])


_SIDE_METRICS = (
    ("casualties_{s}", "side {s}'s casualties over the whole horizon, mean over paths", "people", "casualties_total"),
    (
        "casualties_to_settlement_{s}",
        "side {s}'s casualties until the first settlement (the horizon if none), mean over paths",
        "people",
        "casualties_to_settlement",
    ),
    ("p_removed_{s}", "probability that side {s}'s leader loses office within the horizon", "probability", "removed"),
)
"""Per-side metrics: name and description (of side ``s``), unit, and the per-side outcome averaged."""


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        *(
            Metric(
                f"p_settle_{k}",
                f"probability of a first settlement within {k} months (months 0 .. {k - 1})",
                "probability",
                partial(_settle_within, k),
                min_horizon=k,
            )
            for k in (6, 12, 24, 36)
        ),
        Metric(
            "p_settle_horizon",
            "probability of a first settlement within the horizon",
            "probability",
            lambda m: m.mean(m.outcomes.first_settlement >= 0),
        ),
        Metric(
            "deal_at_start",
            "share of paths settling in month 0 (without levers: 0 or 1 per row, the month-0 decision is the "
            "same on every path)",
            "probability",
            partial(_settle_within, 1),
        ),
        Metric(
            "median_month",
            "median month of the first settlement over paths, NaN when fewer than half the paths settle",
            "month",
            _median_month,
        ),
        Metric(
            "months_at_war",
            "mean months at war until the first settlement (the horizon when none)",
            "months",
            _months_at_war,
        ),
        *(
            Metric(
                f"p_holds_{y}y",
                f"probability that a first ceasefire holds {12 * y} months: Kaplan-Meier over the row's first "
                "ceasefires (NaN if none was observed that long)",
                "probability",
                partial(_holds, 12 * y),
            )
            for y in (1, 2)
        ),
        Metric(
            "held_share_A",
            "share of the territory held by side A at the first settlement (the horizon if none), mean",
            "share",
            _held_share,
        ),
        Metric(
            "p_at_war_end",
            "probability of being at war at the horizon (never settled, or a ceasefire broke)",
            "probability",
            lambda m: m.mean(m.outcomes.at_war_at_end),
        ),
        *(
            Metric(name.format(s=s), text.format(s=s), unit, partial(_per_side, outcome, s))
            for s in SIDES
            for name, text, unit, outcome in _SIDE_METRICS
        ),
    ]
}
"""Registered per-row metrics, by name."""


# -- what to run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepSpec:
    """How every row of a design is simulated, and what is computed per row."""

    paths: int
    seed: int
    horizon: int
    lookahead: int
    policy: str = "optimal"
    beliefs: str = "scenario"
    metrics: tuple[str, ...] | None = None
    """Metrics computed per row; ``None``: every registered metric the horizon allows."""
    backend: str = "numpy"
    """``numpy``, or ``jax`` (:mod:`ceasefire.model.jax.engine`, the ``jax`` extra: its own random
    numbers, so the same distributions as NumPy's, not the same bits)."""

    @classmethod
    def from_scenario(cls, scenario: Scenario, **overrides: Any) -> SweepSpec:
        """The scenario's run defaults, with ``overrides`` that are not ``None``."""
        given = {k: (tuple(v) if k == "metrics" and v is not None else v) for k, v in overrides.items()}
        return spec_from_scenario(cls, scenario, given)

    def metrics_for(self) -> tuple[str, ...]:
        """The metrics computed: those asked for, or every one the horizon allows."""
        if self.metrics is not None:
            return tuple(self.metrics)
        return tuple(m for m in METRICS if METRICS[m].min_horizon <= self.horizon)

    def validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative whole number, got {self.seed!r}")
        check_settings(self, ("paths", "horizon", "lookahead"))
        if self.metrics is not None and not self.metrics:
            raise ValueError("a sweep needs at least one metric")
        for m in self.metrics or ():
            if m not in METRICS:
                raise ValueError(f"unknown metric '{m}' (metrics: {', '.join(METRICS)})")
            if METRICS[m].min_horizon > self.horizon:
                raise ValueError(f"metric '{m}' needs a horizon of at least {METRICS[m].min_horizon} months")

    def config(self) -> RunConfig:
        """The engine's settings for every row. No metric reads the bargaining range, so it is not
        recorded: the outcomes are the same bits either way (the range is an output, not an input of
        any decision), and recording it took an eighth of a default ``ceasefire sensitivity``."""
        return RunConfig(
            horizon=self.horizon,
            lookahead=self.lookahead,
            policy=self.policy,
            beliefs=self.beliefs,
            bargaining_range=False,
            backend=self.backend,
        )

    def default_workers(self) -> int | None:
        """Worker processes by default: for NumPy ``None`` (:func:`ceasefire.run.executor.executor_for`:
        ``CEASEFIRE_WORKERS`` if set, else every CPU this process may use); one for JAX, which uses
        every core (or the GPU) by itself and would compile its programs once per process."""
        return 1 if self.backend == "jax" else None


def model_factors(scenario: Scenario, levers: Iterable[str] = ()) -> list[str]:
    """The uncertain parameters a simulation with ``levers`` applied reads, in file order.

    A lever's own parameters (``levers.ID.*``) matter only where the lever is applied, and its
    ``cost_per_unit`` never does; they are left out otherwise (their effect would be exactly zero).
    """
    on = set(levers)
    out = []
    for path, p in iter_params(scenario):
        if p.is_fixed:
            continue
        if path.startswith("levers."):
            _, lever_id, key = path.split(".", 2)
            if lever_id not in on or key == "cost_per_unit":
                continue
        out.append(path)
    return out


def design_from_unit(scenario: Scenario, names: Sequence[str], u: NDArray[np.float64]) -> pd.DataFrame:
    """Map points of the unit hypercube ``u`` (rows x len(names)) through each parameter's quantile function.

    ``u`` is clipped into ``[1e-9, 1 - 1e-9]`` so that unbounded distributions (normal, log-normal)
    stay finite at samplers' grid points 0 and 1.
    """
    params = dict(iter_params(scenario))
    u = np.clip(np.asarray(u, dtype=float), 1e-9, 1.0 - 1e-9)
    if u.ndim != 2 or u.shape[1] != len(names):
        raise ValueError(f"expected unit points of shape (rows, {len(names)}), got {u.shape}")
    cols = {}
    for j, name in enumerate(names):
        if name not in params:
            raise ValueError(f"'{name}' is not a parameter of scenario '{scenario.scenario.id}'")
        cols[name] = params[name].ppf(u[:, j])
    return pd.DataFrame(cols)


def latin_hypercube(scenario: Scenario, n: int, seed: int, names: Sequence[str] | None = None) -> pd.DataFrame:
    """``n`` rows: a Latin hypercube over ``names`` (default: :func:`model_factors`), seeded by ``seed``."""
    from scipy.stats import qmc

    names = list(model_factors(scenario) if names is None else names)
    if n < 1:
        raise ValueError(f"a design needs at least one row, got n={n}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    u = qmc.LatinHypercube(d=max(len(names), 1), rng=rng).random(n)[:, : len(names)]
    return design_from_unit(scenario, names, u)


def check_design(scenario: Scenario, design: pd.DataFrame) -> pd.DataFrame:
    """The design as float64 columns on a fresh 0-based index; ``ValueError`` naming what is wrong."""
    if not isinstance(design, pd.DataFrame):
        raise ValueError(f"a design is a pandas DataFrame, got {type(design).__name__}")
    if len(design) == 0:
        raise ValueError("the design has no rows")
    params = dict(iter_params(scenario))
    levers = {lv.id: lv for lv in scenario.levers}
    out = {}
    for col in design.columns:
        name = str(col)
        try:
            x = pd.to_numeric(design[col], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError):
            raise ValueError(f"design column '{name}': expected numbers") from None
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            raise ValueError(f"design column '{name}': row {bad[0]} is not a finite number ({x[bad[0]]})")
        if name.startswith(LEVER_PREFIX):
            lever_id = name[len(LEVER_PREFIX) :]
            if lever_id not in levers:
                raise ValueError(f"design column '{name}': unknown lever (levers: {', '.join(levers) or 'none'})")
            (low, high), what, where = (0.0, levers[lever_id].intensity_max), "intensity ", ""
        elif name in params:
            (low, high), what, where = param_domain(scenario, name), "", "the parameter's domain "
        else:
            close = [p for p in params if p.endswith(name.split(".")[-1])][:3]
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ValueError(
                f"design column '{name}' is neither a parameter of scenario '{scenario.scenario.id}' nor "
                f"'{LEVER_PREFIX}ID'{hint}"
            )
        wrong = np.flatnonzero((x < low) | (x > high))
        if wrong.size:
            raise ValueError(
                f"design column '{name}': row {wrong[0]} has {what}{x[wrong[0]]:g}, outside {where}[{low:g}, {high:g}]"
            )
        out[name] = x
    return pd.DataFrame(out, index=pd.RangeIndex(len(design)))


def design_hash(design: pd.DataFrame) -> str:
    """SHA-256 of a checked design: its column names and its values' bytes, row by row."""
    h = hashlib.sha256(json.dumps([str(c) for c in design.columns]).encode())
    h.update(np.ascontiguousarray(design.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


# -- one chunk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkTask:
    """Rows ``start .. start + len`` of a design, ready to simulate anywhere (picklable)."""

    scenario: Scenario
    spec: SweepSpec
    index: int
    start: int
    values: Values  # every parameter, per row
    levers: NDArray[np.float64]  # (rows, len(lever_ids)) intensities
    lever_ids: tuple[str, ...]


@dataclass(frozen=True)
class ChunkResult:
    index: int
    start: int
    metrics: dict[str, NDArray[np.float64]]


def evaluate_chunk(task: ChunkTask) -> ChunkResult:
    """Simulate one chunk of rows and compute its metrics (a pure function of the task)."""
    spec = task.spec
    rows = task.levers.shape[0]
    names = spec.metrics_for()
    out = {m: np.full(rows, np.nan) for m in names}
    seed = Seeds.from_seed(spec.seed).path_seed(0)
    combos, inverse = np.unique(task.levers, axis=0, return_inverse=True)
    group = np.asarray(inverse).reshape(-1)
    config = spec.config()
    for g, combo in enumerate(combos):
        idx = np.flatnonzero(group == g)
        values = {k: v[idx] for k, v in task.values.items()}
        intensities = {lv: float(x) for lv, x in zip(task.lever_ids, combo, strict=True) if x != 0.0}
        seeds = [seed] * idx.size
        outcomes = simulate_values(task.scenario, values, seeds, spec.paths, config, intensities)
        outcomes = check_chunk(outcomes, task.scenario, values, seeds, spec.paths, config, intensities, 0)
        view = MetricInput(outcomes, idx.size, spec.paths, spec.horizon, values)
        for m in names:
            out[m][idx] = METRICS[m].compute(view)
    return ChunkResult(task.index, task.start, out)


# -- the store ------------------------------------------------------------------------------------


def _manifest(scenario: Scenario, spec: SweepSpec, design: pd.DataFrame, chunk_rows: int) -> dict[str, Any]:
    return {
        "kind": "ceasefire-sweep",
        "format": FORMAT,
        "scenario": scenario.scenario.id,
        "scenario_model_sha256": scenario_digest(scenario),
        **{k: getattr(spec, k) for k in ("seed", "paths", "horizon", "lookahead", "policy", "beliefs")},
        "version": __version__,
        "backend": spec.backend,
        "design_sha256": design_hash(design),
        "rows": len(design),
        "columns": [str(c) for c in design.columns],
        "chunk_rows": chunk_rows,
        "chunks": math.ceil(len(design) / chunk_rows),
        "metrics": list(spec.metrics_for()),
        "platform": numerical_platform(),  # where it was started: informative, not compared on resume
    }


def _part_path(out: Path, index: int) -> Path:
    return out / f"part-{index:05d}.parquet"


def _part_meta(manifest: dict[str, Any], index: int, start: int, stop: int) -> dict[str, Any]:
    """What a part's metadata says of it: its chunk, its rows and its sweep's design."""
    return {"chunk": index, "start": start, "stop": stop, "design_sha256": manifest["design_sha256"]}


def _write_part(out: Path, manifest: dict[str, Any], result: ChunkResult, stop: int) -> None:
    import pyarrow.parquet as pq

    cols = {"row": np.arange(result.start, stop, dtype=np.int64), **{m: result.metrics[m] for m in manifest["metrics"]}}
    table = nan_as_null(cols)  # a metric that does not exist is a null, not a NaN that passes for a number
    meta = _part_meta(manifest, result.index, result.start, stop)
    table = table.replace_schema_metadata({b"ceasefire.sweep": json.dumps(meta).encode()})
    write_atomic(_part_path(out, result.index), lambda p: pq.write_table(table, p))


def _read_part(out: Path, manifest: dict[str, Any], index: int, start: int, stop: int) -> pd.DataFrame | None:
    """A finished part, or ``None`` when it is missing, unreadable or not this sweep's."""
    import pyarrow.parquet as pq

    path = _part_path(out, index)
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[b"ceasefire.sweep"])
        frame = table.to_pandas()
    except Exception:  # a torn or foreign file is recomputed, whatever pyarrow says about it
        return None
    if meta != _part_meta(manifest, index, start, stop) or list(frame.columns) != ["row", *manifest["metrics"]]:
        return None
    return frame if np.array_equal(frame["row"].to_numpy(), np.arange(start, stop)) else None


def _prepare_store(out: Path, manifest: dict[str, Any], design: pd.DataFrame, resume: bool) -> None:
    """Create the folder, or check that the sweep in it is this one; remove our torn temporary files."""
    path = out / MANIFEST
    if path.exists():
        if not resume:
            raise SweepError(
                f"{out} already holds a sweep ({MANIFEST}); continue it with --resume (resume=True) "
                "or choose an empty folder"
            )
        found = read_manifest(out)
        if not isinstance(found, dict) or found.get("kind") != "ceasefire-sweep":
            raise SweepError(f"{path} is not a ceasefire sweep manifest")
        differ = [
            f"{k}: folder has {found.get(k)!r}, this sweep {manifest[k]!r}"
            for k in manifest
            if k not in ("columns", "platform") and found.get(k) != manifest[k]
        ]
        if differ:
            raise SweepError(
                f"cannot resume: {path} describes another sweep ({'; '.join(differ)}). "
                "Resume with the same scenario, design, seed, sizes, metrics and version, or use a new folder"
            )
    else:
        if out.exists() and any(PART.match(p.name) for p in out.iterdir()):
            raise SweepError(f"{out} holds sweep parts but no {MANIFEST}; choose an empty folder")
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / DESIGN, lambda p: design.to_parquet(p, index=False))
        text = json.dumps(manifest, indent=1)
        write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))
    for p in out.iterdir():
        if TEMPORARY.match(p.name):
            p.unlink(missing_ok=True)


def read_manifest(out: Path | str) -> dict[str, Any]:
    """The manifest of the sweep in folder ``out``."""
    path = Path(out) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SweepError(f"{path}: cannot read the sweep's manifest ({e})") from None
    return doc  # type: ignore[no-any-return]


# -- the sweep ------------------------------------------------------------------------------------


def _full_values(scenario: Scenario, design: pd.DataFrame) -> Values:
    """Every parameter per row: the design's columns, the nominal value elsewhere."""
    return {
        path: design[path].to_numpy(dtype=float) if path in design.columns else np.full(len(design), p.nominal())
        for path, p in iter_params(scenario)
    }


CHUNK_PATHS = 8192
"""About how many paths a chunk holds where the rows allow two chunks for each worker: each chunk is
one call of the engine, whose fixed cost is that of some 1,400 paths of the flagship at its horizon
of 60 months (measured per row on 100 paths: 38.5 ms in chunks of 28 rows, 28.9 ms in chunks of 112;
docs/performance.md)."""


def default_chunk_rows(rows: int, spec: SweepSpec, workers: int | None = None) -> int:
    """Rows per chunk, within the memory budget.

    Without ``workers`` (``None``: not known) the rows go in 32 chunks (progress granularity). For
    ``workers`` (a Dask cluster's: its workers' threads, counted once connected) they go in chunks of
    about :data:`CHUNK_PATHS` paths, at most 32 unless the workers need more: at least two for each
    worker, and the same number for each, so that the workers finish together, none idle while
    another does a last chunk.

    With JAX, whole compiled calls (:func:`ceasefire.model.jax.engine.samples_per_block` rows each,
    thousands on a GPU): a chunk of fewer rows would be padded to a whole call.
    """
    size = math.ceil(rows / 32)
    if spec.backend == "jax":
        from ceasefire.model.jax import engine as jax_engine

        call = jax_engine.samples_per_block(spec.paths)
        return call * math.ceil(size / call)
    if workers is not None:
        chunks = max(min(32, math.ceil(rows * spec.paths / CHUNK_PATHS)), 2 * workers)
        size = math.ceil(rows / (workers * math.ceil(chunks / workers)))
    return max(1, min(chunk_size_for(spec.paths, spec.horizon, spec.policy), size))


def run_sweep(
    scenario: Scenario,
    design: pd.DataFrame,
    spec: SweepSpec | None = None,
    *,
    executor: Executor | None = None,
    chunk_rows: int | None = None,
    out: Path | str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate every row of ``design`` and return its metrics.

    Parameters
    ----------
    scenario
        The scenario; parameters without a design column stay at their nominal values.
    design
        One experiment per row: columns are parameter paths or ``lever:ID`` (see the module).
    spec
        Paths, horizon, policy, beliefs, seed and metrics (default: the scenario's run defaults,
        every metric the horizon allows).
    executor
        Where chunks run (:func:`ceasefire.run.executor.executor_for`; default: in this process).
    chunk_rows
        Rows per chunk (default :func:`default_chunk_rows`; on resume, the folder's).
        Results do not depend on it; parts on disk do.
    out
        Folder for the manifest, the design, one Parquet part per chunk and ``results.parquet``;
        ``None`` keeps everything in memory.
    resume
        Continue the sweep already in ``out``: keep its valid parts, compute the rest.
    progress
        Called with ``(rows done, rows)`` as chunks finish.

    Returns
    -------
    pandas.DataFrame
        One row per design row (index ``row``, 0-based), one float column per metric.

    Raises
    ------
    ValueError
        A bad design or spec.
    SweepError
        A folder that holds another sweep, a write that failed, a worker that died: finished
        parts are kept, and ``resume`` continues from them.
    """
    spec = spec or SweepSpec.from_scenario(scenario)
    spec.validate()
    design = check_design(scenario, design)
    lever_ids = tuple(lv.id for lv in scenario.levers)
    out_dir = Path(out) if out is not None else None
    if chunk_rows is None and resume and out_dir is not None and (out_dir / MANIFEST).exists():
        chunk_rows = read_manifest(out_dir).get("chunk_rows")
    ex = executor or InlineExecutor()
    with ex:  # entered first: a Dask cluster says how many workers it has once connected
        size = int(chunk_rows) if chunk_rows is not None else default_chunk_rows(len(design), spec, ex.workers)
        if size < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {size}")
        manifest = _manifest(scenario, spec, design, size)
        names = list(manifest["metrics"])
        n = len(design)
        bounds = [(k, lo, min(lo + size, n)) for k, lo in enumerate(range(0, n, size))]

        finished: dict[int, pd.DataFrame] = {}
        if out_dir is not None:
            try:
                _prepare_store(out_dir, manifest, design, resume)
            except OSError as e:
                raise SweepError(
                    f"cannot prepare the sweep folder {out_dir}: {e.strerror or e} ({e.filename})"
                ) from None
            if resume:
                parts = {k: _read_part(out_dir, manifest, k, lo, hi) for k, lo, hi in bounds}
                finished = {k: part for k, part in parts.items() if part is not None}

        values = _full_values(scenario, design)
        levers = np.column_stack(
            [design[LEVER_PREFIX + lv].to_numpy(float) if LEVER_PREFIX + lv in design.columns else np.zeros(n)
             for lv in lever_ids] or [np.zeros((n, 0))]
        )  # fmt: skip
        tasks = [
            ChunkTask(scenario, spec, k, lo, {p: v[lo:hi] for p, v in values.items()}, levers[lo:hi], lever_ids)
            for k, lo, hi in bounds
            if k not in finished
        ]
        stops = {k: hi for k, _, hi in bounds}
        try:
            _evaluate(ex, tasks, stops, manifest, out_dir, finished, progress)
        except (SweepError, WorkerError) as e:
            where = f" and kept in {out_dir}; continue with --resume" if out_dir is not None else ""
            raise SweepError(f"{e} ({len(finished)} of {len(bounds)} chunks finished{where})") from e
    table = pd.concat([finished[k] for k, _, _ in bounds], ignore_index=True).set_index("row")
    if out_dir is not None:
        joined = design.assign(**{m: table[m].to_numpy() for m in names})
        try:
            write_atomic(out_dir / RESULTS, lambda p: joined.to_parquet(p, index=False))
        except OSError as e:
            raise SweepError(f"could not write {out_dir / RESULTS}: {e.strerror or e}; every part is intact") from e
    return table


def _evaluate(
    executor: Executor,
    tasks: Sequence[ChunkTask],
    stops: Mapping[int, int],
    manifest: dict[str, Any],
    out_dir: Path | None,
    finished: dict[int, pd.DataFrame],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Run the tasks, write each finished chunk's part, record it in ``finished``, and call
    ``progress(rows done, rows)`` first and as chunks finish."""
    done, total = sum(len(f) for f in finished.values()), manifest["rows"]
    if progress is not None:
        progress(done, total)
    for _, result in executor.map_unordered(evaluate_chunk, ((task,) for task in tasks)):  # entered by run_sweep
        frame = pd.DataFrame({"row": np.arange(result.start, stops[result.index]), **result.metrics})
        if out_dir is not None:
            try:
                _write_part(out_dir, manifest, result, stops[result.index])
            except OSError as e:
                raise SweepError(
                    f"could not write part {result.index} to {out_dir}: {e.strerror or e}; "
                    "the parts written before are intact"
                ) from e
        finished[result.index] = frame[["row", *manifest["metrics"]]]
        done += len(frame)
        if progress is not None:
            progress(done, total)
