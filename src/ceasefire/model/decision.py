"""Forward-looking leaders: each one's settle-or-fight rule by least-squares Monte Carlo.

Leader ``i`` solves an optimal stopping problem on paths of the war *as he imagines it*: the
scenario's model with his own side's combat power multiplied by ``exp(optimism_i)`` (and, if
given, the other leader's hazard at war multiplied by ``exp(resolve_doubt_i)``), with no deal.
Each month he may stop, on the terms he values most among those he believes the other leader
accepts, or fight on for the month's value ``flow - rate * punishment``, discounted by
``delta * exp(-rate)`` (his survival in office). He believes the other accepts terms worth at
least the other's value of fighting on forever at today's hazard (one level of reasoning about
the other). At the horizon he values fighting on as fighting forever at that month's hazard.

An incumbent and a successor value things differently (the person-tied reasons reset), so each
leader's problem is solved twice on the same imagined paths: once as incumbent, once as
successor. The rules are then applied on the *true* paths (:mod:`ceasefire.model.engine`):
the values there are out of sample, so the rule is not biased by the paths it was fitted on.

Regressors (the "state" of the stopping problem), per path and month: the value of fighting on
forever, the value of peace at the battlefield's victory score, that score, the log of the
believed power ratio, and the months of spending the reserves cover.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ceasefire.model.valuation import Structure, Valuation, elements, victory, victory_battlefield
from ceasefire.model.world import U_REMOVE_A, World
from ceasefire.scenario.schema import SIDES
from ceasefire.solve.lsm import OptimalStopping, PathSet, StoppingRule, batch_runs

Array = NDArray[np.float64]
N_FEATURES = 5
RIDGE = 1e-3
"""Ridge on the standardized regressors: 21 columns fitted on a few hundred paths per sample."""


def other(side: str) -> str:
    return "B" if side == "A" else "A"


def log_power_ratio(world: World, side: str) -> Array:
    """``log(P_side / P_other)`` in ``world`` (an imagined world carries its leader's optimism)."""
    power = world.power()
    rho = power[side] / np.maximum(power[other(side)], 1e-12)
    return np.log(np.maximum(rho, 1e-12))


def features(
    world: World, side: str, val: Valuation, v_battle: Array, idx: NDArray[np.int64] | slice, log_rho: Array
) -> Array:
    """``(len(idx), N_FEATURES)`` regressors of a leader's continuation value (see the module docstring).

    ``log_rho`` is the believed log power ratio on all paths.
    """
    peace_here = val.peace(v_battle[:, None])[:, 0]
    cover = world.reserves[side][idx] / np.maximum(world.spend0[side][idx], 1e-12)
    return np.stack([val.stay, peace_here, v_battle, log_rho[idx], cover], axis=1)


@dataclass(frozen=True)
class LeaderRules:
    """Each leader's stopping rule as incumbent (``[0]``) and as successor (``[1]``)."""

    rules: dict[str, tuple[StoppingRule, StoppingRule]]
    low: dict[str, tuple[Array, Array]]  # (months + 1, samples, d): the regressors' range in training
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
                for start, stop, b in runs:
                    np.clip(x[start:stop], low[b], high[b], out=x[start:stop])
            out[rows] = rule.continuation_rows(t, x, of)
        return out

    def take(self, samples: NDArray[np.int64]) -> LeaderRules:
        """The rules of the given samples, in that order (a sample may be repeated: one per block of its paths)."""
        rules, low, high = {}, {}, {}
        for s, (incumbent, successor) in self.rules.items():
            rules[s] = (
                StoppingRule(coefficients=incumbent.coefficients[:, samples], basis=incumbent.basis),
                StoppingRule(coefficients=successor.coefficients[:, samples], basis=successor.basis),
            )
            low[s] = (self.low[s][0][:, samples], self.low[s][1][:, samples])
            high[s] = (self.high[s][0][:, samples], self.high[s][1][:, samples])
        return LeaderRules(rules=rules, low=low, high=high, samples=len(samples), paths=self.paths)


def imagined_paths(
    world: World,
    st: Structure,
    side: str,
    z: Array,
    u: Array,
    samples: int,
    paths: int,
    doubt: Array,
) -> tuple[PathSet, PathSet]:
    """Simulate leader ``side``'s imagined war (no deal) and build his two stopping problems.

    ``doubt`` is his log-bias on the other leader's hazard at war (his doubt of the other's resolve).
    """
    j = other(side)
    n, horizon = world.n, z.shape[0]
    sd, sdj = world.sides[side], world.sides[j]
    other_successor = np.zeros(n, dtype=bool)
    types = (np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    feats = np.empty((2, horizon + 1, n, N_FEATURES))
    stop = np.full((2, horizon + 1, n), np.nan)
    flow = np.empty((2, horizon, n))
    discount = np.empty((2, horizon, n))
    terminal = np.empty((2, n))
    everyone = slice(None)
    no_relief = np.zeros(n)
    war = np.ones(n, dtype=bool)
    for t in range(horizon + 1):
        progress = world.progress()
        available = st.available_from <= t
        log_i, log_j = world.state_log(side), world.state_log(j)
        vb_j = victory_battlefield(st, j, progress, sdj, everyone)
        # the doubt raises the other's hazard at war only: his staying power, not his peace
        val_j = Valuation.of(sdj, other_successor, everyone, log_j + doubt, world.peace_log(j, log_j), vb_j, None)
        # the terms he believes the other accepts: bounds on the other's values settle most of them
        reached = val_j.peace_at_least(victory(st, j, progress, sdj, everyone, by_terms=True), val_j.stay)
        accepted = (reached & available[:, None]).T
        vb_i = victory_battlefield(st, side, progress, sd, everyone)
        v_i = victory(st, side, progress, sd, everyone)
        log_rho = log_power_ratio(world, side)
        for g, succ in enumerate(types):
            val = Valuation.of(sd, succ, everyone, log_i, world.peace_log(side, log_i), vb_i, None)
            feats[g, t] = features(world, side, val, vb_i, everyone, log_rho)
            # his value of the terms is read only on those the other accepts: valued there alone
            best = val.best_peace(accepted, elements(v_i))
            stop[g, t] = np.where(np.isfinite(best), best, np.nan)
            if t < horizon:
                flow[g, t] = val.war_cashflow
                discount[g, t] = val.war_discount
            else:
                terminal[g] = val.stay
        if t == horizon:
            break
        world.step(z[t], u[t], war, no_relief)
        h_j = -np.expm1(-val_j.rate_war)
        other_successor |= u[t][:, U_REMOVE_A + SIDES.index(j)] < h_j

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
