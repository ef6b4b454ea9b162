"""What the dashboard computes, apart from how it is shown: previews and full runs.

A preview re-runs the scenario's preview-size baseline with the levers and assumption changes
asked for, on the *same* parameter samples and paths (common random numbers, via
``run(..., samples_of=baseline)``), so a slider's effect is not drowned in Monte Carlo noise.
An assumption slider shifts or scales every sample's value of one parameter (clipped to its
domain). Full runs go to background threads; their progress is polled.

Previews are cached by what determines them (:meth:`DashboardService.preview_key`), computed once
however many identical requests arrive together (:class:`ceasefire.web.cache.SingleFlightCache`);
a request beyond what the :class:`ceasefire.web.admission.Gate` takes on is refused with :class:`Busy`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ceasefire.analysis.curves import gap_bands
from ceasefire.analysis.report_compute import run_curves
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import summarize
from ceasefire.scenario.schema import Scenario, param_domain
from ceasefire.web.admission import Busy, Gate
from ceasefire.web.cache import SingleFlightCache
from ceasefire.web.catalog import ScenarioCatalog
from ceasefire.web.inputs import lever_grid, snap_all
from ceasefire.web.limits import RunLimits, assumptions, clean_assumptions, clean_levers, full_spec, preview_spec


@dataclass(frozen=True)
class Preview:
    """A preview's numbers: JSON-friendly dicts for the figures and the headline."""

    scenario: str
    levers: dict[str, float]
    assumptions: dict[str, float]
    curves: dict[str, Any]
    baseline_curves: dict[str, Any]
    summary: dict[str, Any]
    baseline_summary: dict[str, Any]
    gaps: dict[str, Any]
    claims: list[dict[str, Any]]
    baseline_claims: list[dict[str, Any]]
    seconds: float
    key: tuple[Any, ...] = ()
    """What the preview was computed from (:meth:`DashboardService.preview_key`); its cache key."""


def shifted(
    scenario: Scenario, values: Mapping[str, np.ndarray], changes: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Per-sample parameter values with the assumption changes applied, clipped to each domain."""
    kinds = {a.path: a.kind for a in assumptions(scenario)}
    out = dict(values)
    for path, x in changes.items():
        low, high = param_domain(scenario, path)
        v = np.asarray(values[path], dtype=float)
        out[path] = np.clip(v + x if kinds[path] == "shift" else v * x, low, high)
    return out


CLAIM_RESAMPLES = 200
"""Bootstrap resamples of the outer samples for a preview's claim intervals."""


def claim_checks(result: RunResult, resamples: int = CLAIM_RESAMPLES) -> list[dict[str, Any]]:
    """The scenario's claims about the world of ``result`` (its levers and parameter values).

    Each claim that is not about a lever is estimated on the run's paths with a 95% interval from a
    cluster bootstrap over its parameter samples (:func:`ceasefire.analysis.claims.evaluate`), and
    judged supported (the whole interval satisfies it), contradicted (none of it does) or
    undecided. Lever claims compare two worlds and need their own runs: they are listed as
    ``"not at preview"`` (``ceasefire claims`` and the report check them).
    """
    from ceasefire.analysis.claims import beyond_horizon, evaluate, judge, worlds_of
    from ceasefire.scenario.query import parse_query

    sc, spec = result.scenario, result.spec
    queries = [(c, parse_query(c.query)) for c in sc.claims]
    if not queries:
        return []
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0xDA5B]))
    boot = rng.multinomial(spec.samples, np.full(spec.samples, 1.0 / spec.samples), size=resamples)
    weights = np.concatenate([np.ones((1, spec.samples)), boot.astype(float)])
    worlds = worlds_of(result)  # the war fought on and other worlds, computed once when a claim reads them
    out = []
    for claim, q in queries:
        row: dict[str, Any] = {"id": claim.id, "source": claim.source, "asserts": claim.asserts, "query": claim.query}
        if q.is_lever:
            out.append(row | {"estimate": None, "low": None, "high": None, "verdict": "not at preview"})
            continue
        est, low, high = evaluate(q, result, weights, worlds)
        # the claims analysis's rule, horizon included: a window the preview does not cover is undecided
        verdict = judge(q, est, low, high, spec.horizon)
        if beyond_horizon(q, spec.horizon):
            est = low = high = float("nan")
        finite = [None if np.isnan(x) or np.isinf(x) else float(x) for x in (est, low, high)]
        out.append(row | {"estimate": finite[0], "low": finite[1], "high": finite[2], "verdict": verdict})
    return out


def _gaps(result: RunResult) -> dict[str, Any]:
    tr = result.outcomes.trajectories
    sc = result.scenario
    out = {}
    for s in ("A", "B"):
        gains = {k: v for k, v in tr.items() if k.startswith(f"gain_{s}_")}
        if gains:
            out[sc.leaders[s].name] = gap_bands(gains, tr["at_war"])  # type: ignore[index]
    return out


@dataclass
class Job:
    """A full run in a background thread."""

    id: str
    scenario: str
    levers: dict[str, float]
    assumptions: dict[str, float]
    spec: RunSpec
    done: int = 0
    """Samples simulated so far, over every pass of the run: it only grows."""
    total: int = 1
    """Samples to simulate over every pass (a pass per ``run`` call)."""
    stage: str = "waiting"
    result: dict[str, Any] | None = None
    error: str | None = None
    seconds: float | None = None

    def advance(self, passes_done: int, done: int) -> None:
        """Progress ``done`` of the current pass, after ``passes_done`` finished passes; never goes back."""
        self.done = max(self.done, min(passes_done * self.spec.samples + done, self.total))

    @property
    def finished(self) -> bool:
        """Whether the run is over: it has a result or an error."""
        return self.result is not None or self.error is not None


def checked_settings(
    sc: Scenario, levers: Mapping[Any, Any], changes: Mapping[Any, Any]
) -> tuple[dict[str, float], dict[str, float]]:
    """The lever intensities and assumption values a browser sent, on their sliders' grids and checked
    (levers off and assumptions at the scenario's value left out; why snapped: :mod:`ceasefire.web.inputs`).
    :class:`ValueError` for bad ones."""
    lv = clean_levers(sc, snap_all(levers, lever_grid(sc)))
    ch = clean_assumptions(sc, snap_all(changes, {a.path: (a.low, a.high, a.step) for a in assumptions(sc)}))
    return lv, ch


def settings_key(levers: Mapping[str, float], changes: Mapping[str, float]) -> tuple[Any, ...]:
    """The (checked) lever intensities and assumption values, in a comparable form."""
    return (tuple(sorted(levers.items())), tuple(sorted(changes.items())))


__all__ = ["Busy", "DashboardService", "Job", "Preview", "checked_settings", "claim_checks", "settings_key", "shifted"]


class DashboardService:
    """Previews (cached baselines, common random numbers) and background full runs."""

    def __init__(self, catalog: ScenarioCatalog, limits: RunLimits | None = None) -> None:
        self.catalog = catalog
        self.limits = limits or RunLimits()
        self._baselines: dict[str, RunResult] = {}
        self._baseline_claims: dict[str, list[dict[str, Any]]] = {}
        self._baseline_lock = threading.Lock()
        self.gate = Gate(self.limits.max_previews, self.limits.preview_queue, self.limits.preview_wait)
        self.cache: SingleFlightCache[Preview] = SingleFlightCache(
            self.limits.preview_cache, wait=self.limits.preview_wait + 120.0
        )
        self._full = threading.BoundedSemaphore(self.limits.max_full_runs)
        self._jobs: dict[str, Job] = {}
        self._finished: dict[tuple[Any, ...], Job] = {}  # (scenario, settings) -> the last finished run
        self._jobs_lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- previews ------------------------------------------------------------------------------

    def baseline(self, name: str) -> RunResult:
        """The preview-size run of scenario ``name`` without levers (computed once)."""
        sc = self.catalog.load(name)
        with self._baseline_lock:
            if name not in self._baselines:
                spec = replace(preview_spec(sc, self.limits), record=True)
                self._baselines[name] = run(sc, spec)
                self._baseline_claims[name] = claim_checks(self._baselines[name])
            return self._baselines[name]

    def preview_key(self, name: str, levers: Mapping[str, float], changes: Mapping[str, float]) -> tuple[Any, ...]:
        """What determines a preview of ``name`` with the (checked) ``levers`` and assumption ``changes``.

        ``(name, SHA-256 of the scenario file, sorted lever intensities, sorted assumption values,
        (samples, paths, horizon) of the preview, seed)``; equal keys give identical previews.
        """
        sc = self.catalog.load(name)
        spec = preview_spec(sc, self.limits)
        return (
            name,
            self.catalog.digest(name),
            *settings_key(levers, changes),
            (spec.samples, spec.paths, spec.horizon),
            spec.seed,
        )

    def preview(self, name: str, levers: Mapping[Any, Any], changes: Mapping[Any, Any]) -> Preview:
        """The scenario with ``levers`` and assumption ``changes``, at the preview size, on the baseline's samples.

        Cached; :class:`Busy` when the server is computing as many previews as it takes on.
        """
        return self.preview_with_source(name, levers, changes)[0]

    def preview_with_source(
        self, name: str, levers: Mapping[Any, Any], changes: Mapping[Any, Any]
    ) -> tuple[Preview, str]:
        """:meth:`preview` and where it came from: ``"computed"``, ``"cached"`` or ``"shared"`` (with an
        identical request computing it at the same time)."""
        sc = self.catalog.load(name)
        lv, ch = checked_settings(sc, levers, changes)
        key = self.preview_key(name, lv, ch)
        try:
            return self.cache.get(key, lambda: self._compute_preview(name, sc, lv, ch, key))
        except TimeoutError as e:
            raise Busy(f"busy — {e}; try again in a few seconds") from None

    def _compute_preview(
        self, name: str, sc: Scenario, lv: dict[str, float], ch: dict[str, float], key: tuple[Any, ...]
    ) -> Preview:
        start = time.perf_counter()
        with self.gate.slot():
            base = self.baseline(name)
            if lv or ch:
                earlier = replace(base, parameters=shifted(sc, base.parameters, ch)) if ch else base
                result = run(sc, replace(base.spec, levers=lv), samples_of=earlier)
                claims = claim_checks(result)
            else:
                result = base
                claims = self._baseline_claims[name]
            return Preview(
                scenario=name,
                levers=lv,
                assumptions=ch,
                curves=run_curves(result),
                baseline_curves=run_curves(base),
                summary=summarize(result).to_dict(),
                baseline_summary=summarize(base).to_dict(),
                gaps=_gaps(result),
                claims=claims,
                baseline_claims=self._baseline_claims[name],
                seconds=time.perf_counter() - start,
                key=key,
            )

    # -- full runs -----------------------------------------------------------------------------

    def start_full(self, name: str, levers: Mapping[Any, Any], changes: Mapping[Any, Any]) -> str:
        """Start a full-size run in a background thread; its job id. :class:`Busy` when at the limit."""
        sc = self.catalog.load(name)
        # checked as a preview's are, so that the preview of the same sliders finds this run to compare with
        lv, ch = checked_settings(sc, levers, changes)
        if not self._full.acquire(blocking=False):
            n = self.limits.max_full_runs
            raise Busy(
                f"busy — {n} full-size run{'s' if n > 1 else ''} already going (the most this server takes on); "
                "try again when it has finished"
            )
        job = Job(
            id=f"job-{next(self._ids)}",
            scenario=name,
            levers=lv,
            assumptions=ch,
            spec=replace(full_spec(sc, self.limits), levers=lv),
        )
        with self._jobs_lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.limits.kept_jobs:
                oldest = next(iter(self._jobs))
                if not self._jobs[oldest].finished:
                    break
                del self._jobs[oldest]
        threading.Thread(target=self._full_run, args=(job, sc), name=job.id, daemon=True).start()
        return job.id

    def _full_run(self, job: Job, sc: Scenario) -> None:
        """Simulate ``job`` in passes, each one ``run`` call, so that its progress only goes forward.

        With assumption changes, or with levers on a scenario whose samples must be consistent with
        a no-deal start, the first pass finds the samples without levers and the second simulates
        them with the changes (common random numbers); otherwise one pass does it all.
        """
        start = time.perf_counter()
        try:
            spec = job.spec
            screen = sc.scenario.no_deal_at_start and spec.allow_settlement
            two = bool(job.assumptions) or (screen and bool(spec.levers))
            job.total = spec.samples * (2 if two else 1)
            first = "finding samples consistent with the start" if screen else "simulating"
            if two:
                job.stage = f"step 1 of 2: {first}"
                base = run(sc, replace(spec, levers={}), progress=lambda done, _: job.advance(0, done))
                job.stage = "step 2 of 2: simulating with the changes"
                earlier = replace(base, parameters=shifted(sc, base.parameters, job.assumptions))
                result = run(sc, spec, progress=lambda done, _: job.advance(1, done), samples_of=earlier)
            else:
                job.stage = first
                result = run(sc, spec, progress=lambda done, _: job.advance(0, done))
            job.result = {"curves": run_curves(result), "summary": summarize(result).to_dict()}
            job.done = job.total
            job.stage = "finished"
            key = (job.scenario, settings_key(job.levers, job.assumptions))
            with self._jobs_lock:
                self._finished.pop(key, None)
                self._finished[key] = job  # the newest last
                while len(self._finished) > self.limits.kept_jobs:
                    del self._finished[next(iter(self._finished))]
        except Exception as e:  # reported to the browser; the server keeps going
            job.error = f"{type(e).__name__}: {e}"
            job.stage = "failed"
        finally:
            job.seconds = time.perf_counter() - start
            self._full.release()

    def job(self, job_id: object) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id) if isinstance(job_id, str) else None

    def finished_full(self, name: str, levers: Mapping[str, float], changes: Mapping[str, float]) -> Job | None:
        """The last finished full-size run of scenario ``name`` with these (checked) settings, if any.

        Runs are deterministic, so any user's run with the same settings gives the same numbers.
        """
        with self._jobs_lock:
            return self._finished.get((name, settings_key(levers, changes)))

    def any_finished_full(self, name: str) -> bool:
        """Whether some full-size run of scenario ``name`` has finished (with any settings)."""
        with self._jobs_lock:
            return any(key[0] == name for key in self._finished)
