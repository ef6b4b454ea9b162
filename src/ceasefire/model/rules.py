"""The leaders' fitted stopping rules in NumPy: each leader's imagined war, its stopping problems, the fit.

Each leader's problem (:func:`.decision.problem_row`, month by month) is built on the paths of the war
he imagines (:func:`imagined_problems`) and fitted by least-squares Monte Carlo
(:class:`ceasefire.solve.lsm.OptimalStopping`, polynomial basis, ridge :data:`.decision.RIDGE`), once
as an incumbent and once as a successor, each sample on its own paths (:func:`solve_rules`).
:class:`LeaderRules` holds the fitted rules of a chunk of samples and evaluates them on the true paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import hazard, patrons, timeline
from ceasefire.model.decision import N_FEATURES, RIDGE, ProblemRow, problem_row
from ceasefire.model.params import SIDES, Array, other
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import Exact
from ceasefire.model.war import U_REMOVE_A, Setup, WarState, observe, renew, start, step
from ceasefire.model.xp import namespace
from ceasefire.solve.lsm import OptimalStopping, PathSet, StoppingRule, batch_runs


@dataclass(frozen=True)
class LeaderRules:
    """Each leader's stopping rule as incumbent (``[0]``) and as successor (``[1]``), for a chunk of samples."""

    rules: dict[str, tuple[StoppingRule, StoppingRule]]
    low: dict[str, tuple[Array, Array]]
    """``(months + 1, samples, d)``: the regressors' range in training."""
    high: dict[str, tuple[Array, Array]]
    samples: int
    paths: int

    def continuation_at(
        self, side: str, t: int, feats: Array, successor: NDArray[np.bool_], sample: NDArray[np.int64]
    ) -> Array:
        """Continuation values at month ``t`` of any set of paths (e.g. those still at war).

        ``feats`` ``(m, d)`` are the paths' regressors; ``successor`` and ``sample`` ``(m,)`` say whose
        rule values each path: its leader type's (incumbent or successor), with its sample's
        coefficients. The regressors are clipped to the range the imagined paths covered that month
        for that sample and type: a fitted polynomial is not to be trusted outside the data it was
        fitted on. Each path's value depends on its own regressors and sample alone.
        """
        out = np.empty(feats.shape[0])
        for g, rule in enumerate(self.rules[side]):
            rows = np.flatnonzero(successor if g else ~successor)
            if rows.size == 0:
                continue
            of = sample[rows]
            low, high = self.low[side][g][t], self.high[side][g][t]
            runs = batch_runs(of)
            if runs is None:
                x = np.clip(feats[rows], low[of], high[of])
            else:  # each sample's run clipped to its bounds, not a copy of them per path
                x = feats[rows]
                for start_, stop, b in runs:
                    np.clip(x[start_:stop], low[b], high[b], out=x[start_:stop])
            out[rows] = rule.continuation_rows(t, x, of)
        return out

    def take(self, samples: NDArray[np.int64]) -> LeaderRules:
        """The rules of the given samples, in that order (a sample may be repeated: one per block of its paths)."""
        return _joined([self], lambda arrays: arrays[0][:, samples], len(samples))


def join_rules(parts: Sequence[LeaderRules]) -> LeaderRules:
    """The rules of consecutive groups of samples as one (the inverse of :meth:`LeaderRules.take`)."""
    if len(parts) == 1:
        return parts[0]
    return _joined(parts, lambda arrays: np.concatenate(arrays, axis=1), sum(p.samples for p in parts))


def _joined(parts: Sequence[LeaderRules], fn: Callable[[list[Array]], Array], samples: int) -> LeaderRules:
    """The rules of ``samples`` samples whose every array (``(months + 1, samples, ...)``) is ``fn`` of the
    parts' arrays."""
    rules, low, high = {}, {}, {}
    for s, pair in parts[0].rules.items():
        rules[s] = tuple(
            replace(rule, coefficients=fn([p.rules[s][g].coefficients for p in parts])) for g, rule in enumerate(pair)
        )
        low[s] = tuple(fn([p.low[s][g] for p in parts]) for g in range(2))
        high[s] = tuple(fn([p.high[s][g] for p in parts]) for g in range(2))
    return replace(parts[0], rules=rules, low=low, high=high, samples=samples)  # type: ignore[arg-type]


def imagined_problems(
    w: Setup, st: Structure, side: str, z: Array, u: Array, samples: int, paths: int, doubt: Array, ev: Exact
) -> tuple[PathSet, PathSet]:
    """Simulate leader ``side``'s imagined war (``w``: its start, his optimism as the bias on his side's
    power; no deal) and build his stopping problems as an incumbent and as a successor.

    ``z``, ``u``: the imagined war's normals ``(months, samples * paths, N_NORMAL)`` (6) and uniforms
    ``(months, samples * paths, N_UNIFORM)`` (10); ``doubt`` his
    log-bias on the other's hazard at war. The events he anticipates happen in it (``w.schedule``): the
    month's parameters change, the other leader falls, a patron's successor judges the terms.
    """
    n, horizon = samples * paths, z.shape[0]
    types = (np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    feats = np.empty((2, horizon + 1, n, N_FEATURES))
    stop = np.full((2, horizon + 1, n), np.nan)
    flow = np.empty((2, horizon, n))
    discount = np.empty((2, horizon, n))
    terminal = np.empty((2, n))
    other_successor = np.zeros(n, dtype=bool)
    x = start(w, n)
    broken = np.full(n, float(st.prior_broken))
    for t in range(horizon + 1):
        last = t == horizon  # the horizon's month is observed, not fought
        row, x, other_successor = imagined_month(
            w, st, ev, side, x, other_successor, t, doubt, types, broken, None if last else (z[t], u[t])
        )
        for g in range(2):
            feats[g, t] = row.feats[g]
            stop[g, t] = row.stop[g]
            if t < horizon:
                flow[g, t], discount[g, t] = row.flow[g], row.discount[g]
            else:
                terminal[g] = row.stay[g]

    def batch(a: Array) -> Array:
        return a.reshape(a.shape[0], samples, paths, *a.shape[2:])

    return tuple(  # type: ignore[return-value]
        PathSet(
            state=batch(feats[g]),
            stop=batch(stop[g]),
            flow=batch(flow[g]),
            discount=batch(discount[g]),
            terminal=terminal[g].reshape(samples, paths),
        )
        for g in range(2)
    )


def imagined_month(
    w0: Setup,
    st: Structure,
    ev: Exact,
    side: str,
    x: WarState,
    other_successor: Array,
    t: Any,
    doubt: Array,
    types: tuple[Array, Array],
    broken: Array,
    noise: tuple[Array, Array] | None,
) -> tuple[ProblemRow, WarState, Array]:
    """Month ``t`` of leader ``side``'s imagined war (``w0``: its start; no deal), for both engines: the
    month's row of his stopping problems (:func:`.decision.problem_row`), then, given the month's
    ``noise`` (normals and uniforms; ``None``: the month is observed only), the war fought and
    financed through the month and the other leader's fall (an event's, or his hazard's). Returns
    the row, the war and whether the other side is led by a successor, at the next month's start."""
    w = timeline.at(w0, st, t)
    obs = observe(w, x)
    fell = timeline.happened(w, st.removing(other(side)), t)
    if fell is not None:
        other_successor = other_successor | fell
    row = problem_row(
        st, ev, side, obs, w.p.leaders, other_successor, t, doubt, types, w.p.terms, w.p.ceasefire, broken,
        imagined_table(w, st, obs.progress, t),
    )  # fmt: skip
    if noise is None:
        return row, x, other_successor
    z, u = noise
    xp = namespace(broken)
    war, no_relief = xp.ones(broken.shape, dtype=bool), xp.zeros(broken.shape)
    x = renew(st.renewal_every, st.renewal_first, w, step(w, x, z, u, war, no_relief, obs.power), u, t)
    fall = u[:, U_REMOVE_A + SIDES.index(other(side))] < hazard.probability(row.rate_other)
    return row, x, other_successor | fall


def imagined_table(w: Setup, st: Structure, progress: Array, t: int) -> Array | None:
    """``(paths, terms)``: the terms on the table in month ``t`` of an imagined war where a patron holds a
    veto (from their month, and accepted by the patrons); ``None`` where none does (the terms' months alone)."""
    allowed = patrons.assent(w, st, progress, t)
    if allowed is None:
        return None
    return (st.available_from <= t)[None, :] & allowed


def solve_rules(problems: Mapping[str, tuple[PathSet, PathSet]], degree: int, samples: int, paths: int) -> LeaderRules:
    """Fit each leader's incumbent and successor rules (polynomial basis of the given degree)."""
    rules, low, high = {}, {}, {}
    for side, pair in problems.items():
        rules[side] = tuple(OptimalStopping(ps, basis="polynomial", degree=degree, ridge=RIDGE).fit() for ps in pair)
        low[side] = tuple(_over_paths(ps.state, np.min) for ps in pair)
        high[side] = tuple(_over_paths(ps.state, np.max) for ps in pair)
    return LeaderRules(rules=rules, low=low, high=high, samples=samples, paths=paths)  # type: ignore[arg-type]


def _over_paths(state: Array, reduce: Callable[..., Array]) -> Array:
    """``reduce`` of ``(months, samples, paths, d)`` regressors over the paths, as ``(months, samples, d)``.

    The regressors are moved next to each other first: reducing along the contiguous last axis is
    several times faster than along paths with five regressors interleaved (the same values).
    """
    return reduce(np.ascontiguousarray(np.swapaxes(state, 2, 3)), axis=3)
