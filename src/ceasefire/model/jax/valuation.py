"""A leader's victory scores and values of office in JAX (a port of :mod:`ceasefire.model.valuation`).

Values are in months of office, discounted; victory scores in [0, 1]. The scenario's discrete
structure (:class:`ceasefire.model.valuation.Structure`: aims, objectives, terms) enters as
constants of the traced computation. Parameters are a mapping from dotted path to a per-sample
scalar or a per-path array ``(paths,)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np

from ceasefire.model.jax import kernels as K
from ceasefire.model.valuation import TRANSITION_REASONS, Structure
from ceasefire.model.world import PERSON_TIED

Array = jax.Array
Params = Mapping[str, Array]


class Side:
    """One side's and its leader's parameters, read from the flat parameter mapping."""

    def __init__(self, p: Params, s: str) -> None:
        self.p, self.s = p, s
        self.base_rate = K.monthly_rate_from_annual(self.ld("base_hazard"))

    def f(self, name: str) -> Array:
        return self.p[f"sides.{self.s}.forces.{name}"]

    def e(self, name: str) -> Array:
        return self.p[f"sides.{self.s}.economy.{name}"]

    def st(self, name: str) -> Array:
        return self.p[f"sides.{self.s}.stability.{name}"]

    def ld(self, name: str) -> Array:
        return self.p[f"leaders.{self.s}.{name}"]

    def reason(self, name: str, successor: Array) -> Array:
        """A named reason of the calculus; a successor keeps ``1 - reset`` of the person-tied ones."""
        value = self.ld(f"reasons.{name}")
        if name in PERSON_TIED:
            return jnp.where(successor, value * (1.0 - self.ld("successor.reset")), value)
        return value

    def rate0(self, successor: Array) -> Array:
        """Monthly removal rate at the start's state, an incumbent's or a successor's."""
        return jnp.where(successor, self.base_rate * self.ld("successor.hazard_multiplier"), self.base_rate)

    def belief(self, name: str) -> Array:
        """An optional belief parameter (0 when the scenario leaves it out)."""
        key = f"leaders.{self.s}.{name}"
        return self.p[key] if key in self.p else jnp.zeros(())


@dataclass(frozen=True)
class Valuation:
    """One leader's values on every path: each terms option now, and fighting on forever."""

    peace_now: Array  # (paths, terms)
    stay: Array
    flow: Array
    rate_war: Array
    punishment_war: Array
    delta: Array
    rate_peace: Array
    shock_total: Array
    punishment: Array
    lost_war: Array
    tau: Array
    gamma: Array

    @classmethod
    def of(
        cls, sd: Side, successor: Array, war_log: Array, peace_log: Array, v_battle: Array, v_now: Array | None
    ) -> Valuation:
        """Values given the log-hazards of the state, the battlefield's and the terms' victory scores."""
        rate0 = sd.rate0(successor)
        rate_war = K.war_rate(rate0, war_log)
        rate_peace = K.peace_base_rate(rate0, peace_log, sd.reason("legitimacy", successor))
        shock_total = jnp.zeros(successor.shape)
        for r in TRANSITION_REASONS:
            shock_total = shock_total + sd.reason(r, successor)
        pun = sd.reason("punishment", successor)
        lost_war = sd.ld("punishment_lost_war")
        delta, tau, gamma = sd.ld("discount"), sd.ld("shock_months"), sd.ld("victory_relief")
        flow = 1.0 + sd.reason("militarism", successor)
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        stay = K.stationary_value(flow, rate_war, pun_war, delta)
        n = successor.shape[0]

        def per_path(x: Array) -> Array:
            return jnp.broadcast_to(x, (n,))

        out = cls(
            jnp.zeros((n, 0)),
            stay,
            per_path(flow),
            rate_war,
            per_path(pun_war),
            per_path(delta),
            rate_peace,
            shock_total,
            per_path(pun),
            per_path(lost_war),
            per_path(tau),
            per_path(gamma),
        )
        return out if v_now is None else replace(out, peace_now=out.peace(v_now))

    def peace_arguments(self, v: Array) -> K.PeaceArguments:
        """The arguments of :func:`.kernels.peace_value` for victory scores ``v`` ``(paths, m)``: the shock
        and the punishment shaped like ``v``, the per-path rate, time constant and discount ``(paths, 1)``."""
        shock = K.transition_shock(self.shock_total[:, None], v, self.gamma[:, None])
        punishment = (self.punishment * (1.0 + self.lost_war))[:, None] - (self.punishment * self.lost_war)[:, None] * v
        return self.rate_peace[:, None], shock, self.tau[:, None], punishment, self.delta[:, None]

    def peace(self, v: Array, axis_name: str | None = None) -> Array:
        """``(paths, m)`` value of signing now on terms with victory scores ``v`` (shape ``(paths, m)``)."""
        return K.peace_value(*self.peace_arguments(v), axis_name=axis_name)

    def fight_then(self, months: int, continuation: Array) -> Array:
        """Value of fighting ``months`` more at today's hazard, then ``continuation``."""
        return K.fight_value(self.flow, self.rate_war, self.punishment_war, self.delta, months, continuation)

    @property
    def war_cashflow(self) -> Array:
        """The month's value of fighting on, removal charged at its rate."""
        return self.flow - self.rate_war * self.punishment_war

    @property
    def war_discount(self) -> Array:
        """Discount times survival from this month to the next while fighting."""
        return self.delta * jnp.exp(-self.rate_war)


def peace_values(requests: Sequence[tuple[Valuation, Array]], axis_name: str | None = None) -> list[Array]:
    """Values of signing now for several ``(valuation, victory scores (paths, m))`` pairs, as
    :meth:`Valuation.peace` gives each (:func:`.kernels.peace_values`: one branch for the rare large
    amplitudes of them all, each valuation's coefficients computed once)."""
    cache: dict[int, tuple[Array, Array, Array]] = {}
    arguments = []
    for val, v in requests:
        rate, shock, tau, punishment, delta = val.peace_arguments(v)
        # the same valuation's per-path arrays, so that its series' coefficients are shared
        rate, tau, delta = cache.setdefault(id(val), (rate, tau, delta))
        arguments.append((rate, shock, tau, punishment, delta))
    return K.peace_values(arguments, axis_name)


def aim_progress(st: Structure, side: str, progress: Array) -> Array:
    """``(paths, aims)`` progress on the objective each aim is tied to (0 where none)."""
    obj = st.aim_objective[side]
    padded = jnp.concatenate([progress, jnp.zeros((progress.shape[0], 1))], axis=1)
    return padded[:, np.where(obj >= 0, obj, progress.shape[1])]


def concessions(st: Structure, side: str, sd: Side) -> tuple[Array, Array]:
    """Concessions received outside the terms, and every concession offered (the ratchet's base)."""
    terms = st.concessions(side)
    received = sd.ld("concession_received")
    return received, received + (float(terms.max()) if terms.size else 0.0)


def victory(st: Structure, side: str, progress: Array, sd: Side) -> Array:
    """``(paths, terms)`` victory scores of every terms option for one side's leader."""
    score = K.weighted_attainment(
        st.granted[side], aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side]
    )
    received, offered = concessions(st, side, sd)
    concession = jnp.expand_dims(received, -1) + st.concessions(side)[None, :]
    return K.victory_from_score(score, sd.ld("aspiration"), concession, offered, sd.ld("reasons.opportunism"))


def victory_battlefield(st: Structure, side: str, progress: Array, sd: Side) -> Array:
    """``(paths,)`` victory score of the battlefield alone (no terms)."""
    held = st.aim_lost[side][:, None]
    score = K.weighted_attainment(held, aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side])
    received = sd.ld("concession_received")
    v = K.victory_from_score(
        score, sd.ld("aspiration"), jnp.expand_dims(received, -1), received, sd.ld("reasons.opportunism")
    )
    return v[:, 0]


def stake_shift(st: Structure, side: str, sd: Side) -> Array:
    """``s`` in ``v = clip(x - s, 0, 1)`` (``valuation.stake_shift``)."""
    received, offered = concessions(st, side, sd)
    return sd.ld("aspiration") + sd.ld("reasons.opportunism") * offered - received - 1.0
