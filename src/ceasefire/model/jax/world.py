"""The war's state on the paths of one sample and one month of its dynamics, in JAX.

A port of :class:`ceasefire.model.world.World`: the state is a flat dict of ``(paths,)`` arrays
(the carry of the month loop); the parameters and everything derived from them at the start are
constants of the :class:`World`. Territory in km², casualties in persons, equipment relative to
the start, reserves in the side's budget unit, stability in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from ceasefire.model.attrition import DAYS_PER_MONTH
from ceasefire.model.jax import kernels as K
from ceasefire.model.jax.valuation import Params, Side
from ceasefire.model.world import U_AID_A, Z_FRONT, Z_INTENSITY, Z_PRICE, Z_STAB_A
from ceasefire.scenario.schema import SIDES

Array = jax.Array
State = dict[str, Array]

PER_SIDE = ("manpower", "equipment", "storage", "reserves", "stability", "pain", "casualty_ratio", "cum_cas")
"""The state variables each side has; with ``held`` and ``log_price`` the whole state of the war."""


def other(side: str) -> str:
    return "B" if side == "A" else "A"


class World:
    """Constants of one sample's war: levered parameters ``p``, the start ``params`` (no levers), bias.

    ``power_bias[s]`` multiplies side ``s``'s combat power by ``exp(bias)`` (a leader's optimism in
    his imagined war).
    """

    def __init__(
        self,
        p: Params,
        params: Params,
        objectives: tuple[str, ...],
        paths: int,
        power_bias: Mapping[str, Array] | None = None,
    ) -> None:
        att = "attrition."
        self.p, self.paths = p, paths
        self.sides = {s: Side(p, s) for s in SIDES}
        self.before = {s: Side(params, s) for s in SIDES}
        self.bias = {s: jnp.asarray((power_bias or {}).get(s, 0.0)) for s in SIDES}
        self.area = p["territory.area_km2"]
        self.held0 = p["territory.held_km2"]
        if objectives:
            obj_area = jnp.stack(jnp.broadcast_arrays(*[p[f"objectives.{o}.area_km2"] for o in objectives]), axis=-1)
        else:
            obj_area = jnp.zeros((0,))
        zero = jnp.zeros((*obj_area.shape[:-1], 1))
        self.obj_bounds = jnp.concatenate([zero, jnp.cumsum(obj_area, axis=-1)], axis=-1)
        self.c0 = {"A": p[att + "casualties_per_day"] * DAYS_PER_MONTH}
        self.c0["B"] = self.c0["A"] / p[att + "exchange_ratio"]
        self.c_ref = {"A": params[att + "casualties_per_day"] * DAYS_PER_MONTH}
        self.c_ref["B"] = self.c_ref["A"] / params[att + "exchange_ratio"]
        b = self.before
        self.spend0 = {s: b[s].e("spending_other") + b[s].e("spending_war") for s in SIDES}
        revenue0 = {
            s: b[s].e("revenue")
            + b[s].e("commodity_revenue") * (1.0 - b[s].e("sanctions"))
            + b[s].f("aid_finance") * b[s].f("aid_level")
            for s in SIDES
        }
        self.deficit0 = {s: jnp.maximum(self.spend0[s] - revenue0[s], 0.0) for s in SIDES}
        self.mu = p["territory.gain_km2_per_month"]
        self.gain_sd = p["territory.gain_sd_km2"]
        self.theta = p["territory.power_elasticity"]
        self.q_fire = p[att + "fire_exponent"]
        self.int_sd = p[att + "intensity_sd"]

    def start(self) -> State:
        """The state at the start of the war, on every path."""
        sd = self.sides
        n = self.paths

        def full(x: Array) -> Array:
            return jnp.broadcast_to(jnp.asarray(x, dtype=jnp.float64), (n,))

        x: State = {"held": full(self.held0), "log_price": jnp.zeros(n)}
        for s in SIDES:
            x[f"manpower_{s}"] = full(sd[s].f("manpower"))
            x[f"equipment_{s}"] = full(sd[s].f("equipment"))
            x[f"storage_{s}"] = full(sd[s].f("equipment_storage"))
            x[f"reserves_{s}"] = full(sd[s].e("reserves"))
            x[f"stability_{s}"] = full(sd[s].st("initial"))
            x[f"pain_{s}"] = jnp.zeros(n)
            x[f"casualty_ratio_{s}"] = jnp.ones(n)
            x[f"cum_cas_{s}"] = jnp.zeros(n)
        return x

    # --- observables ------------------------------------------------------------------------
    def power(self, x: State) -> dict[str, Array]:
        """Relative combat power of each side (1 at the start), times ``exp(bias)``."""
        out = {}
        for s in SIDES:
            f, f0 = self.sides[s], self.before[s]
            out[s] = K.combat_power(
                x[f"manpower_{s}"],
                f0.f("manpower"),
                f.f("manpower_exponent"),
                x[f"equipment_{s}"] / f0.f("equipment"),
                f.f("equipment_exponent"),
            ) * jnp.exp(self.bias[s])
        return out

    def log_power_ratio(self, x: State, side: str) -> Array:
        """``log(P_side / P_other)`` (an imagined world carries its leader's optimism)."""
        power = self.power(x)
        rho = power[side] / jnp.maximum(power[other(side)], 1e-12)
        return jnp.log(jnp.maximum(rho, 1e-12))

    def progress(self, x: State) -> Array:
        """``(paths, objectives)`` share of each objective A has taken."""
        return K.objective_progress(x["held"] - self.held0, self.obj_bounds)

    def state_log(self, x: State, s: str) -> Array:
        """The part of side ``s``'s leader's log-hazard that the war's state moves."""
        sd = self.sides[s]
        return K.state_log_hazard(
            x[f"casualty_ratio_{s}"],
            x[f"pain_{s}"],
            sd.st("initial") - x[f"stability_{s}"],
            sd.ld("casualty_hazard"),
            sd.ld("pain_hazard"),
            sd.ld("instability_hazard"),
        )

    def peace_log(self, x: State, s: str, state_log: Array) -> Array:
        """The state's log-hazard once the fighting stops: the casualty term falls to zero."""
        return state_log - self.sides[s].ld("casualty_hazard") * x[f"casualty_ratio_{s}"]

    # --- one month --------------------------------------------------------------------------
    def step(self, x: State, z: Array, u: Array, war: Array, relief: Array) -> State:
        """Fight where ``war``, then run both economies; ``relief`` is the share of sanctions lifted.

        ``z`` are the month's normals ``(paths, 5)`` and ``u`` its uniforms ``(paths, 5)``, in the
        columns of :mod:`ceasefire.model.world`.
        """
        sd = self.sides
        y = dict(x)
        power = self.power(x)
        rho = power["A"] / jnp.maximum(power["B"], 1e-12)
        intensity = K.intensity_factor(z[:, Z_INTENSITY], self.int_sd)
        aid_flow = {s: u[:, U_AID_A + i] < sd[s].f("aid_reliability") for i, s in enumerate(SIDES)}
        gain = K.front_change(self.mu, rho, self.theta, self.gain_sd, z[:, Z_FRONT])
        y["held"] = jnp.where(war, jnp.clip(x["held"] + gain, 0.0, self.area), x["held"])
        for s in SIDES:
            f, o = sd[s], other(s)
            lost = K.expected_losses(self.c0[s], power[o], self.q_fire) * intensity
            losses = jnp.where(war, lost, 0.0)
            y[f"cum_cas_{s}"] = x[f"cum_cas_{s}"] + losses
            y[f"casualty_ratio_{s}"] = losses / self.c_ref[s]
            recruits = f.f("recruitment") * jnp.exp(-f.f("recruitment_pain_elasticity") * x[f"pain_{s}"])
            manpower = x[f"manpower_{s}"]
            grown = manpower * (1.0 - f.f("separation")) - f.f("permanent_loss_share") * losses + recruits
            y[f"manpower_{s}"] = jnp.where(war, jnp.maximum(grown, 1.0), manpower)
            stock, storage = x[f"equipment_{s}"], x[f"storage_{s}"]
            new_k, new_pool = K.equipment_step(
                stock,
                storage,
                f.f("equipment_loss"),
                power[o],
                self.q_fire,
                intensity,
                f.f("equipment_production"),
                f.f("equipment_restoration"),
                f.f("aid_equipment") * f.f("aid_level") * aid_flow[s],
            )
            # in peace production refills a depleted stock toward its start; a larger stock is kept
            start = f.f("equipment")
            refilled = jnp.where(stock >= start, stock, jnp.minimum(stock + f.f("equipment_production"), start))
            y[f"equipment_{s}"] = jnp.where(war, new_k, refilled)
            y[f"storage_{s}"] = jnp.where(war, new_pool, storage)

        for i, s in enumerate(SIDES):
            f = sd[s]
            if s == "A":
                y["log_price"] = K.log_price_step(
                    x["log_price"], f.e("commodity_reversion"), f.e("commodity_volatility"), z[:, Z_PRICE]
                )
                price = jnp.exp(y["log_price"])
            else:
                price = jnp.ones(self.paths)
            commodity = f.e("commodity_revenue") * price * (1.0 - f.e("sanctions") * (1.0 - relief))
            revenue = f.e("revenue") + commodity + f.f("aid_finance") * f.f("aid_level") * aid_flow[s]
            spending = f.e("spending_other") + f.e("spending_war") * jnp.where(war, 1.0, f.e("peace_war_spending"))
            y[f"reserves_{s}"], deficit, exhausted = K.treasury_step(
                x[f"reserves_{s}"], revenue, spending, f.e("reserve_share")
            )
            y[f"pain_{s}"] = K.economic_pain(
                deficit, self.deficit0[s], exhausted, self.spend0[s], f.e("exhaustion_pain")
            )
            y[f"stability_{s}"] = K.stability_step(
                x[f"stability_{s}"],
                f.st("initial"),
                f.st("recovery"),
                y[f"pain_{s}"],
                f.st("pain_sensitivity"),
                jnp.maximum(y[f"casualty_ratio_{s}"] - 1.0, 0.0),
                f.st("casualty_sensitivity"),
                f.st("noise_sd"),
                z[:, Z_STAB_A + i],
            )
        return y
