"""The war's state on many paths and one month of its dynamics (fighting, economy).

:class:`World` owns the mutable arrays of one simulation: territory, manpower, equipment,
reserves, prices, stability, casualties. The true world and each leader's imagined world
(his beliefs: an optimism bias on his own side's combat power) are both a :class:`World`;
they differ only in their parameters, their noise and the power bias.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import attrition, economy, hazard
from ceasefire.scenario.schema import SIDES, Scenario

Array = NDArray[np.float64]

# noise columns drawn per path and month
Z_FRONT, Z_INTENSITY, Z_PRICE, Z_STAB_A, Z_STAB_B = range(5)
U_REMOVE_A, U_REMOVE_B, U_AID_A, U_AID_B, U_BREAK = range(5)
N_NORMAL, N_UNIFORM = 5, 5

PERSON_TIED = ("militarism", "punishment", "need_for_victory")


class Side:
    """Per-path parameters of one side and its leader, read from the flat parameter table."""

    def __init__(self, p: Mapping[str, Array], s: str) -> None:
        f, e, st, ld = f"sides.{s}.forces.", f"sides.{s}.economy.", f"sides.{s}.stability.", f"leaders.{s}."
        self.f = {k[len(f) :]: v for k, v in p.items() if k.startswith(f)}
        self.e = {k[len(e) :]: v for k, v in p.items() if k.startswith(e)}
        self.st = {k[len(st) :]: v for k, v in p.items() if k.startswith(st)}
        self.ld = {k[len(ld) :]: v for k, v in p.items() if k.startswith(ld)}
        self.base_rate = hazard.monthly_rate_from_annual(self.ld["base_hazard"])

    def reason(self, name: str, successor: NDArray[np.bool_]) -> Array:
        """A named reason of the calculus; a successor keeps ``1 - reset`` of the person-tied ones."""
        value = self.ld[f"reasons.{name}"]
        if name in PERSON_TIED:
            return np.where(successor, value * (1.0 - self.ld["successor.reset"]), value)
        return value

    def rate0(self, successor: NDArray[np.bool_]) -> Array:
        return np.where(successor, self.base_rate * self.ld["successor.hazard_multiplier"], self.base_rate)

    def belief(self, name: str, n: int) -> Array:
        """An optional belief parameter (0 when the scenario leaves it out)."""
        value = self.ld.get(name)
        return np.zeros(n) if value is None else value


class World:
    """State of the war on ``n`` paths; ``power_bias`` multiplies a side's power by ``exp(bias)``."""

    def __init__(
        self,
        scenario: Scenario,
        params: Mapping[str, Array],
        p: Mapping[str, Array],
        power_bias: Mapping[str, Array] | None = None,
    ) -> None:
        att = "attrition."
        self.p = p
        self.sides = {s: Side(p, s) for s in SIDES}
        # pain and the casualty ratio are measured against the start *without* levers, so a
        # lever's effect shows in them
        self.before = {s: Side(params, s) for s in SIDES}
        n = p["territory.area_km2"].size
        self.n = n
        self.bias = {s: np.zeros(n) for s in SIDES}
        for s, bias in (power_bias or {}).items():
            self.bias[s] = bias
        self.area = p["territory.area_km2"]
        self.held0 = p["territory.held_km2"]
        self.held = self.held0.copy()
        n_obj = len(scenario.objectives)
        obj_area = (
            np.stack([p[f"objectives.{o.id}.area_km2"] for o in scenario.objectives], axis=1)
            if n_obj
            else np.zeros((n, 0))
        )
        self.obj_bounds = np.concatenate([np.zeros((n, 1)), np.cumsum(obj_area, axis=1)], axis=1)
        self.c0 = {"A": p[att + "casualties_per_day"] * attrition.DAYS_PER_MONTH}
        self.c0["B"] = self.c0["A"] / p[att + "exchange_ratio"]
        self.c_ref = {"A": params[att + "casualties_per_day"] * attrition.DAYS_PER_MONTH}
        self.c_ref["B"] = self.c_ref["A"] / params[att + "exchange_ratio"]
        sd = self.sides
        self.manpower = {s: sd[s].f["manpower"].copy() for s in SIDES}
        self.equipment = {s: sd[s].f["equipment"].copy() for s in SIDES}
        self.storage = {s: sd[s].f["equipment_storage"].copy() for s in SIDES}
        self.reserves = {s: sd[s].e["reserves"].copy() for s in SIDES}
        self.log_price = np.zeros(n)
        self.stability = {s: sd[s].st["initial"].copy() for s in SIDES}
        b = self.before
        self.spend0 = {s: b[s].e["spending_other"] + b[s].e["spending_war"] for s in SIDES}
        revenue0 = {
            s: b[s].e["revenue"]
            + b[s].e["commodity_revenue"] * (1.0 - b[s].e["sanctions"])
            + b[s].f["aid_finance"] * b[s].f["aid_level"]
            for s in SIDES
        }
        self.deficit0 = {s: np.maximum(self.spend0[s] - revenue0[s], 0.0) for s in SIDES}
        self.pain = {s: np.zeros(n) for s in SIDES}
        self.casualty_ratio = {s: np.ones(n) for s in SIDES}
        self.cum_cas = {s: np.zeros(n) for s in SIDES}
        self.mu = p["territory.gain_km2_per_month"]
        self.gain_sd = p["territory.gain_sd_km2"]
        self.theta = p["territory.power_elasticity"]
        self.q_fire = p[att + "fire_exponent"]
        self.int_sd = p[att + "intensity_sd"]
        self._power: tuple[tuple[Array, ...], dict[str, Array]] | None = None  # the state and its power

    # --- observables ------------------------------------------------------------------------
    def power(self) -> dict[str, Array]:
        """Relative combat power of each side (1 at the start), times ``exp(bias)``.

        Asked for several times a month (the leaders' decisions, then the fighting), it is computed
        once per state: kept until the stocks or the bias are replaced (the arrays are not to be
        modified in place, by the caller or anyone).
        """
        state = (*(self.manpower[s] for s in SIDES), *(self.equipment[s] for s in SIDES), *self.bias.values())
        kept = self._power
        if kept is not None and len(kept[0]) == len(state) and all(a is b for a, b in zip(kept[0], state, strict=True)):
            return dict(kept[1])
        out = {}
        for s in SIDES:
            f, f0 = self.sides[s].f, self.before[s].f
            out[s] = attrition.combat_power(
                self.manpower[s],
                f0["manpower"],
                f["manpower_exponent"],
                self.equipment[s] / f0["equipment"],
                f["equipment_exponent"],
            ) * np.exp(self.bias[s])
        self._power = (state, out)
        return dict(out)

    def progress(self) -> Array:
        """``(n, objectives)`` share of each objective A has taken."""
        return attrition.objective_progress(self.held - self.held0, self.obj_bounds)

    def state_log(self, s: str) -> Array:
        """The part of side ``s``'s leader's log-hazard that the war's state moves."""
        ld, st = self.sides[s].ld, self.sides[s].st
        return hazard.state_log_hazard(
            self.casualty_ratio[s],
            self.pain[s],
            st["initial"] - self.stability[s],
            ld["casualty_hazard"],
            ld["pain_hazard"],
            ld["instability_hazard"],
        )

    def peace_log(self, s: str, state_log: Array) -> Array:
        """The state's log-hazard once the fighting stops: the casualty term falls to zero."""
        ld = self.sides[s].ld
        return state_log - ld["casualty_hazard"] * self.casualty_ratio[s]

    # --- one month --------------------------------------------------------------------------
    def step(self, zt: Array, ut: Array, war: NDArray[np.bool_], relief: Array) -> None:
        """Fight where ``war``, then run both economies; ``relief`` is the share of sanctions lifted."""
        sd = self.sides
        power = self.power()
        rho = power["A"] / np.maximum(power["B"], 1e-12)
        intensity = attrition.intensity_factor(zt[:, Z_INTENSITY], self.int_sd)
        aid_flow = {s: ut[:, U_AID_A + i] < sd[s].f["aid_reliability"] for i, s in enumerate(SIDES)}
        gain = attrition.front_change(self.mu, rho, self.theta, self.gain_sd, zt[:, Z_FRONT])
        self.held = np.where(war, np.clip(self.held + gain, 0.0, self.area), self.held)
        for s, other in (("A", "B"), ("B", "A")):
            f = sd[s].f
            lost = attrition.expected_losses(self.c0[s], power[other], self.q_fire) * intensity
            losses = np.where(war, lost, 0.0)
            self.cum_cas[s] = self.cum_cas[s] + losses
            self.casualty_ratio[s] = losses / self.c_ref[s]
            recruits = f["recruitment"] * np.exp(-f["recruitment_pain_elasticity"] * self.pain[s])
            self.manpower[s] = np.where(
                war,
                np.maximum(
                    self.manpower[s] * (1.0 - f["separation"]) - f["permanent_loss_share"] * losses + recruits, 1.0
                ),
                self.manpower[s],
            )
            new_k, new_pool = attrition.equipment_step(
                self.equipment[s],
                self.storage[s],
                f["equipment_loss"],
                power[other],
                self.q_fire,
                intensity,
                f["equipment_production"],
                f["equipment_restoration"],
                f["aid_equipment"] * f["aid_level"] * aid_flow[s],
            )
            # in peace production refills a depleted stock toward its start; a larger stock is kept
            refilled = np.where(
                self.equipment[s] >= f["equipment"],
                self.equipment[s],
                np.minimum(self.equipment[s] + f["equipment_production"], f["equipment"]),
            )
            self.equipment[s] = np.where(war, new_k, refilled)
            self.storage[s] = np.where(war, new_pool, self.storage[s])

        for i, s in enumerate(SIDES):
            e, f, st = sd[s].e, sd[s].f, sd[s].st
            if s == "A":
                self.log_price = economy.log_price_step(
                    self.log_price, e["commodity_reversion"], e["commodity_volatility"], zt[:, Z_PRICE]
                )
                price = np.exp(self.log_price)
            else:
                price = np.ones(self.n)
            commodity = e["commodity_revenue"] * price * (1.0 - e["sanctions"] * (1.0 - relief))
            revenue = e["revenue"] + commodity + f["aid_finance"] * f["aid_level"] * aid_flow[s]
            spending = e["spending_other"] + e["spending_war"] * np.where(war, 1.0, e["peace_war_spending"])
            self.reserves[s], deficit, exhausted = economy.treasury_step(
                self.reserves[s], revenue, spending, e["reserve_share"]
            )
            self.pain[s] = economy.economic_pain(
                deficit, self.deficit0[s], exhausted, self.spend0[s], e["exhaustion_pain"]
            )
            self.stability[s] = economy.stability_step(
                self.stability[s],
                st["initial"],
                st["recovery"],
                self.pain[s],
                st["pain_sensitivity"],
                np.maximum(self.casualty_ratio[s] - 1.0, 0.0),
                st["casualty_sensitivity"],
                st["noise_sd"],
                zt[:, Z_STAB_A + i],
            )
