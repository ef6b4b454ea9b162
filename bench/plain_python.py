"""The flagship model written the way a user would without this tool: one path at a time, plain Python.

Model 2 as :mod:`ceasefire.model.engine` computes it with the ``myopic`` policy, one sample's
parameters, scalars and ``math`` only: loops over paths, months, sides and terms. Written apart
from the engine (nothing of ``ceasefire.model`` is imported; :func:`terms_of` only reads the
scenario's discrete structure as plain lists). It covers:

* the war: the front (beyond the start line down to ``other_area_km2``), losses scaled by the
  enemy's power, manpower and equipment (production, restoration from a finite pool, aid
  deliveries) at war and rebuilt in peace, both sides' commodity prices, treasuries and pain, war
  spending falling to its peace share over ``demobilization_months``, stability; the external money
  renewed, cut or raised at its decision months;
* the leaders: their hazards of removal at war and in peace (the transition shock fading since the
  signing), successors with the person-tied reasons partly reset;
* the decision: each leader values every terms option (the value of peace in closed form, today's
  excess hazard and the ceasefire's background breakdown fading over his transition, a breakdown
  giving back his value of office at war) against fighting a look-ahead of months and then taking
  the best deal the other accepts; the Nash choice among terms acceptable to both; a signing;
* the ceasefire's background breakdown, highest early, with guarantees and the record.

What it does **not** cover, and so what the comparison (``tests/test_plain_python.py``) runs with
at its neutral value (``docs/model.md``; ``model/params.py`` ``OPTIONAL``): the policy outcome
(``policy_weight`` 0, so a leader's aims enter only through his victory score), the war's direct
cost (``reasons.war_cost`` 0), the audience cost (``audience_hazard`` 0), talks with a lag
(``negotiation_months`` 0: terms acceptable to both are signed in the month they are chosen),
votes (no ``ratification``), terms that remove a leader (none), a leader's choice to resume
(``resume_noise`` 0: ceasefires end by the background hazard alone), levers, events and patrons.
Where a scenario sets them otherwise this model is not the engine's.

It is the benchmark's reference for "what the engine's vectorization buys" (``bench/run.py``);
``tests/test_plain_python.py`` checks that fed the engine's own random numbers it follows the engine
path by path, and that with its own it gives the same distribution within Monte Carlo error.

The monthly bargaining range (a record, not an input to any decision) is not computed here; the
engine is timed against it with the range off.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SIDES = ("A", "B")
TRANSITION_REASONS = ("war_economy", "bonuses_and_wages", "veterans", "risk_of_change", "need_for_victory")
PERSON_TIED = ("militarism", "punishment", "need_for_victory")
DAYS_PER_MONTH = 365.25 / 12
# noise columns, as in ceasefire.model.war: six normals and ten uniforms a month
Z_FRONT, Z_INTENSITY, Z_PRICE_A, Z_STAB_A, Z_STAB_B, Z_PRICE_B = range(6)
U_REMOVE_A, U_REMOVE_B, U_AID_A, U_AID_B, U_BREAK, U_RATIFY, U_RESUME_A, U_RESUME_B, U_RENEW_A, U_RENEW_B = range(10)
N_NORMAL, N_UNIFORM = 6, 10
Z_PRICE = {"A": Z_PRICE_A, "B": Z_PRICE_B}

NEUTRAL = {
    "leaders.A.policy_weight": 0.0,
    "leaders.B.policy_weight": 0.0,
    "leaders.A.reasons.war_cost": 0.0,
    "leaders.B.reasons.war_cost": 0.0,
    "leaders.A.audience_hazard": 0.0,
    "leaders.B.audience_hazard": 0.0,
    "ceasefire.negotiation_months": 0.0,
    "ceasefire.resume_noise": 0.0,
}
"""The Model 2 parameters this model leaves out, at the neutral values it assumes (with no ``ratification``,
no terms removing a leader, no levers, events or patrons in the scenario's structure)."""

Noise = Callable[[int], tuple[Sequence[float], Sequence[float]]]
"""Month ``t`` -> six standard normals and ten uniforms for one path."""


@dataclass(frozen=True)
class Terms:
    """The scenario's discrete structure as plain lists (what a user would type in from the file)."""

    available_from: list[int]
    guarantees: list[bool]
    sanctions_relief: list[float]
    concession_to_a: list[float]
    aim_weights: dict[str, list[float]]
    aim_objective: dict[str, list[int]]
    aim_lost: dict[str, list[bool]]
    status_quo: dict[str, list[float]]
    granted: dict[str, list[list[bool]]]  # [aim][terms]
    prior_broken: float
    objectives: list[str]
    renewal_every: dict[str, int]
    renewal_first: dict[str, int]

    @property
    def count(self) -> int:
        return len(self.available_from)


def peace_series(
    base_rate: float, shock: float, tau: float, delta: float, flow_part: float, shock_cost: float, tol: float = 1e-12
) -> float:
    """``sum_u delta^u S_u (a - c q^u)`` with ``S_u = exp(-sum_{w<u} (lambda0 + J q^w))``, ``q = exp(-1/tau)``:
    the value of a state left at the rate ``lambda0 + J q^u`` and worth ``a - c q^u`` in month ``u``, summed
    as ``e^{-A} sum_n A^n / n! (a G_n - c G_{n+1})`` with ``A = J / (1 - q)``, ``G_n = 1 / (1 - r q^n)``,
    ``r = delta exp(-lambda0)``."""
    q = math.exp(-1.0 / tau)
    amp = shock / (1.0 - q)
    r = delta * math.exp(-base_rate)
    bound = 1.0 + abs(flow_part) + abs(shock_cost)
    total, weight, rq = 0.0, 1.0, r
    g_n = 1.0 / (1.0 - rq)
    n = 0
    while n <= 400:
        rq *= q
        g_next = 1.0 / (1.0 - rq)
        total += weight * (g_n * flow_part - shock_cost * g_next)
        n += 1
        weight = weight * amp / n
        if abs(weight) * (abs(g_next) * bound + 1.0) < tol:
            break
        g_n = g_next
    return math.exp(-amp) * total


def peace_value(
    base_rate: float, shock: float, tau: float, punishment: float, delta: float, tol: float = 1e-12
) -> float:
    """Value of signing now with a flow of 1 in office and the punishment charged at the removal rate."""
    return peace_series(base_rate, shock, tau, delta, 1.0 - base_rate * punishment, shock * punishment, tol)


def fight_value(flow: float, rate: float, punishment: float, delta: float, months: int, then: float) -> float:
    r = delta * math.exp(-rate)
    annuity = (1.0 - r**months) / (1.0 - r) if abs(1.0 - r) > 1e-12 else float(months)
    return (flow - rate * punishment) * annuity + r**months * then


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def simulate_path(p: Mapping[str, float], terms: Terms, horizon: int, lookahead: int, noise: Noise) -> dict[str, float]:
    """One path of the true war under the myopic policy; ``p`` is one sample's parameters (dotted names).

    The parameters of :data:`NEUTRAL` must be at those values (this model leaves their mechanisms out)."""
    for key, neutral in NEUTRAL.items():
        if p.get(key, neutral) != neutral:
            raise ValueError(f"{key} = {p[key]}: this model needs it at {neutral}")
    ld = {s: {k[len(f"leaders.{s}.") :]: v for k, v in p.items() if k.startswith(f"leaders.{s}.")} for s in SIDES}
    f = {
        s: {k[len(f"sides.{s}.forces.") :]: v for k, v in p.items() if k.startswith(f"sides.{s}.forces.")}
        for s in SIDES
    }
    e = {
        s: {k[len(f"sides.{s}.economy.") :]: v for k, v in p.items() if k.startswith(f"sides.{s}.economy.")}
        for s in SIDES
    }
    stab = {
        s: {k[len(f"sides.{s}.stability.") :]: v for k, v in p.items() if k.startswith(f"sides.{s}.stability.")}
        for s in SIDES
    }
    renewal = {
        s: {k[len(f"sides.{s}.renewal.") :]: v for k, v in p.items() if k.startswith(f"sides.{s}.renewal.")}
        for s in SIDES
    }
    base_rate = {s: -math.log1p(-min(ld[s]["base_hazard"], 1.0 - 1e-12)) / 12.0 for s in SIDES}
    cf = {k[len("ceasefire.") :]: v for k, v in p.items() if k.startswith("ceasefire.")}
    b_long, b_early = cf["breakdown"], cf.get("breakdown_early", cf["breakdown"])
    fragility = cf.get("fragility_months", 12.0)

    # the world's state
    area, held0 = p["territory.area_km2"], p["territory.held_km2"]
    other_area = p.get("territory.other_area_km2", 0.0)
    held = held0
    bounds = [0.0]
    for o in terms.objectives:
        bounds.append(bounds[-1] + p[f"objectives.{o}.area_km2"])
    c0 = {"A": p["attrition.casualties_per_day"] * DAYS_PER_MONTH}
    c0["B"] = c0["A"] / p["attrition.exchange_ratio"]
    manpower = {s: f[s]["manpower"] for s in SIDES}
    equipment = {s: f[s]["equipment"] for s in SIDES}
    storage = {s: f[s]["equipment_storage"] for s in SIDES}
    reserves = {s: e[s]["reserves"] for s in SIDES}
    stability = {s: stab[s]["initial"] for s in SIDES}
    funding = {s: 1.0 for s in SIDES}
    finance_level = {s: f[s].get("finance_level", 1.0) for s in SIDES}
    spend0 = {s: e[s]["spending_other"] + e[s]["spending_war"] for s in SIDES}
    deficit0 = {}
    for s in SIDES:
        revenue0 = e[s]["revenue"] + e[s]["commodity_revenue"] * (1.0 - e[s]["sanctions"])
        revenue0 += f[s]["aid_finance"] * finance_level[s]
        deficit0[s] = max(spend0[s] - revenue0, 0.0)
    log_price = {s: 0.0 for s in SIDES}
    pain = {s: 0.0 for s in SIDES}
    casualty_ratio = {s: 1.0 for s in SIDES}
    cum_cas = {s: 0.0 for s in SIDES}
    mu, gain_sd, theta = p["territory.gain_km2_per_month"], p["territory.gain_sd_km2"], p["territory.power_elasticity"]
    q_fire, int_sd = p["attrition.fire_exponent"], p["attrition.intensity_sd"]

    def power(s: str) -> float:
        return (max(manpower[s], 0.0) / f[s]["manpower"]) ** f[s]["manpower_exponent"] * max(
            equipment[s] / f[s]["equipment"], 0.0
        ) ** f[s]["equipment_exponent"]

    def progress(gained: float) -> list[float]:
        return [clip((gained - bounds[j]) / (bounds[j + 1] - bounds[j]), 0.0, 1.0) for j in range(len(bounds) - 1)]

    def reason(s: str, name: str, successor: bool) -> float:
        value = ld[s].get(f"reasons.{name}", 0.0)
        return value * (1.0 - ld[s]["successor.reset"]) if successor and name in PERSON_TIED else value

    def rate0(s: str, successor: bool) -> float:
        return base_rate[s] * ld[s]["successor.hazard_multiplier"] if successor else base_rate[s]

    def state_log(s: str) -> float:
        x = ld[s]["casualty_hazard"] * (casualty_ratio[s] - 1.0) + ld[s]["pain_hazard"] * pain[s]
        return x + ld[s]["instability_hazard"] * (stab[s]["initial"] - stability[s])

    def score(s: str, prog: list[float], granted: Sequence[bool], at_war: bool) -> float:
        """His aims' weighted attainment; an aim tied to no objective is met, at war, as far as its status
        quo says, and under terms only if they grant it."""
        weights = terms.aim_weights[s]
        total_weight = sum(weights)
        out = 0.0
        for j, w in enumerate(weights):
            obj = terms.aim_objective[s][j]
            pj = prog[obj] if obj >= 0 else terms.status_quo[s][j] if at_war else 0.0
            g = 1.0 if granted[j] else 0.0
            out += w / total_weight * (g * (1.0 - pj) if terms.aim_lost[s][j] else max(g, pj))
        return out

    def concession_terms(s: str) -> list[float]:
        return terms.concession_to_a if s == "A" else [0.0] * terms.count

    def victory(s: str, prog: list[float]) -> list[float]:
        received = ld[s]["concession_received"]
        offered = received + max(concession_terms(s), default=0.0)
        out = []
        for k in range(terms.count):
            sc = score(s, prog, [row[k] for row in terms.granted[s]], False)
            shortfall = ld[s]["aspiration"] + ld[s]["reasons.opportunism"] * offered - sc
            shortfall -= received + concession_terms(s)[k]
            out.append(clip(1.0 - max(shortfall, 0.0), 0.0, 1.0))
        return out

    def victory_battlefield(s: str, prog: list[float]) -> float:
        received = ld[s]["concession_received"]
        sc = score(s, prog, terms.aim_lost[s], True)
        shortfall = ld[s]["aspiration"] + ld[s]["reasons.opportunism"] * received - sc - received
        return clip(1.0 - max(shortfall, 0.0), 0.0, 1.0)

    def values(s: str, successor: bool, v_battle: float, broken: float) -> dict[str, float]:
        """The leader's hazards, flows and the value of fighting on forever at today's hazard; the peace
        hazard in the long run (no pain, stability restored, the war's legitimacy gone) and today's excess
        over it; the ceasefire's background breakdown in the long run and its excess at signing."""
        slog = state_log(s)
        r0 = rate0(s, successor)
        rate_war = r0 * math.exp(slog)
        peace_log = slog - ld[s]["casualty_hazard"] * casualty_ratio[s]
        legitimacy = reason(s, "legitimacy", successor)
        rate_peace = r0 * math.exp(peace_log + legitimacy)
        long = r0 * math.exp(-ld[s]["casualty_hazard"] + legitimacy)
        shock_total = sum(reason(s, r, successor) for r in TRANSITION_REASONS)
        pun = reason(s, "punishment", successor)
        lost_war = ld[s]["punishment_lost_war"]
        flow = 1.0 + reason(s, "militarism", successor) - reason(s, "war_cost", successor)
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        delta = ld[s]["discount"]
        stay = (flow - rate_war * pun_war) / (1.0 - delta * math.exp(-rate_war))
        fragile = cf["record_factor"] ** broken
        return {"rate_war": rate_war, "long": long, "excess": max(rate_peace - long, 0.0),
                "shock_total": shock_total, "pun": pun, "lost_war": lost_war, "flow": flow, "pun_war": pun_war,
                "delta": delta, "stay": stay, "nu_long": b_long * fragile,
                "nu_excess": (b_early - b_long) * fragile}  # fmt: skip

    def peace(s: str, val: Mapping[str, float], v: float, k: int) -> float:
        """His value of signing terms ``k`` (victory score ``v``) now: in office he leaves peace by removal
        (charged the punishment) or by the ceasefire's breakdown (which gives him back his value at war)."""
        shock = val["shock_total"] * clip(1.0 - v, 0.0, 1.0) ** ld[s]["victory_relief"]
        punishment = val["pun"] * (1.0 + val["lost_war"]) - val["pun"] * val["lost_war"] * v
        g = cf["guarantee_factor"] if terms.guarantees[k] else 1.0
        nu_long, nu_excess = val["nu_long"] * g, val["nu_excess"] * g
        base = val["long"] + nu_long
        transition = val["excess"] + shock + nu_excess
        flow_part = 1.0 - val["long"] * punishment + nu_long * val["stay"]
        shock_cost = (val["excess"] + shock) * punishment - nu_excess * val["stay"]
        return peace_series(base, transition, ld[s]["shock_months"], val["delta"], flow_part, shock_cost)

    def fight_then(val: Mapping[str, float], months: int, then: float) -> float:
        return fight_value(val["flow"], val["rate_war"], val["pun_war"], val["delta"], months, then)

    successor = {s: False for s in SIDES}
    removed = {s: False for s in SIDES}
    at_war, terms_now, peace_start = True, -1, -1
    broken = terms.prior_broken
    settlements = breakdowns = 0
    first_month = first_terms = -1
    cas_to_settle = {s: 0.0 for s in SIDES}
    held_end = math.nan
    victory_now = {s: 0.0 for s in SIDES}

    for t in range(horizon):
        prog = progress(held - held0)
        available = [a <= t for a in terms.available_from]
        if at_war:
            val, peace_now, v_terms = {}, {}, {}
            for s in SIDES:
                vb = victory_battlefield(s, prog)
                victory_now[s] = vb
                val[s] = values(s, successor[s], vb, broken)
                v_terms[s] = victory(s, prog)
                peace_now[s] = [peace(s, val[s], v, k) for k, v in enumerate(v_terms[s])]
            # myopic: fight the look-ahead at today's hazard, then the best deal the other accepts today
            rho = power("A") / max(power("B"), 1e-12)
            accepts, later = {}, {}
            for s in SIDES:
                belief = math.exp(p[f"leaders.{s}.optimism"] * (1.0 if s == "A" else -1.0))
                gained = held - held0 + lookahead * (mu * (rho * belief) ** theta)
                later[s] = [peace(s, val[s], v, k) for k, v in enumerate(victory(s, progress(gained)))]
                stay_then = fight_then(val[s], lookahead, val[s]["stay"])
                accepts[s] = [peace_now[s][k] >= stay_then and available[k] for k in range(terms.count)]
            gains = {}
            for s, o in (("A", "B"), ("B", "A")):
                best_later = max((later[s][k] for k in range(terms.count) if accepts[o][k]), default=-math.inf)
                fight_on = fight_then(val[s], lookahead, max(val[s]["stay"], best_later))
                gains[s] = [x - fight_on for x in peace_now[s]]
            choice, best = -1, -math.inf
            for k in range(terms.count):
                if gains["A"][k] >= 0.0 and gains["B"][k] >= 0.0 and available[k]:
                    nash = gains["A"][k] * gains["B"][k]
                    if nash > best or choice < 0:
                        choice, best = k, nash
            if choice >= 0:  # signed at once: no talks' lag, no vote
                at_war, terms_now, peace_start = False, choice, t
                settlements += 1
                if first_month < 0:
                    first_month, first_terms = t, choice
                    cas_to_settle = dict(cum_cas)
                    held_end = held
                for s in SIDES:
                    victory_now[s] = v_terms[s][choice]

        # fight, economies
        z, u = noise(t)
        since = max(t - peace_start, 0)
        relief = 0.0 if at_war else terms.sanctions_relief[max(terms_now, 0)]
        power_now = {s: power(s) for s in SIDES}
        rho = power_now["A"] / max(power_now["B"], 1e-12)
        intensity = math.exp(int_sd * z[Z_INTENSITY] - 0.5 * int_sd * int_sd) if at_war else 0.0
        aid_flow = {s: u[U_AID_A + i] < f[s]["aid_reliability"] for i, s in enumerate(SIDES)}
        if at_war:
            held = clip(held + mu * rho**theta + gain_sd * z[Z_FRONT], -other_area, area)
        for s, other in (("A", "B"), ("B", "A")):
            fs = f[s]
            # in peace (intensity 0) no losses: the force rebuilds
            losses = c0[s] * power_now[other] ** q_fire * intensity
            cum_cas[s] += losses
            casualty_ratio[s] = losses / c0[s]
            recruits = fs["recruitment"] * math.exp(-fs["recruitment_pain_elasticity"] * pain[s])
            manpower[s] = max(
                manpower[s] * (1.0 - fs["separation"]) - fs["permanent_loss_share"] * losses + recruits, 1.0
            )
            lost = equipment[s] * min(fs["equipment_loss"] * power_now[other] ** q_fire * intensity, 1.0)
            restored = min(storage[s], fs["equipment_restoration"])
            delivered = fs["aid_equipment"] * fs["aid_level"] * funding[s] * aid_flow[s]
            equipment[s] = max(equipment[s] - lost + fs["equipment_production"] + restored + delivered, 0.0)
            storage[s] -= restored
        for i, s in enumerate(SIDES):
            es = e[s]
            log_price[s] = (1.0 - es["commodity_reversion"]) * log_price[s] + es["commodity_volatility"] * z[Z_PRICE[s]]
            commodity = es["commodity_revenue"] * math.exp(log_price[s]) * (1.0 - es["sanctions"] * (1.0 - relief))
            finance = f[s]["aid_finance"] * finance_level[s] * funding[s] * aid_flow[s]
            revenue = es["revenue"] + commodity + finance
            tau = es.get("demobilization_months", 0.0)
            fading = math.exp(-since / tau) if tau > 0.0 else 0.0
            peace_share = es["peace_war_spending"] + (1.0 - es["peace_war_spending"]) * fading
            spending = es["spending_other"] + es["spending_war"] * (1.0 if at_war else peace_share)
            balance = revenue - spending
            after = reserves[s] + es["reserve_share"] * balance
            deficit = max(-balance, 0.0)
            exhausted = after <= 0.0 and deficit > 0.0
            reserves[s] = max(after, 0.0)
            pain[s] = (
                max(deficit - deficit0[s], 0.0) / spend0[s] + es["exhaustion_pain"] * exhausted * deficit / spend0[s]
            )
            st = stab[s]
            x = stability[s] + st["recovery"] * (st["initial"] - stability[s]) - st["pain_sensitivity"] * pain[s]
            x = x - st["casualty_sensitivity"] * max(casualty_ratio[s] - 1.0, 0.0) + st["noise_sd"] * z[Z_STAB_A + i]
            stability[s] = clip(x, 0.0, 1.0)
        # the decisions on external money due this month
        for i, s in enumerate(SIDES):
            every, first = terms.renewal_every[s], terms.renewal_first[s]
            if every > 0 and t >= first and (t - first) % every == 0:
                r, draw = renewal[s], u[U_RENEW_A + i]
                cut, raised = r.get("cut", 0.0), r.get("raised", 0.0)
                factor = r.get("cut_to", 1.0) if draw < cut else r.get("raise_to", 1.0) if draw < cut + raised else 1.0
                funding[s] *= factor

        # leaders
        for i, s in enumerate(SIDES):
            slog = state_log(s)
            r0 = rate0(s, successor[s])
            if at_war:
                rate = r0 * math.exp(slog)
            else:
                shock_total = sum(reason(s, r, successor[s]) for r in TRANSITION_REASONS)
                shock = shock_total * clip(1.0 - victory_now[s], 0.0, 1.0) ** ld[s]["victory_relief"]
                rate = r0 * math.exp(slog + reason(s, "legitimacy", successor[s]))
                rate = rate + shock * math.exp(-since / ld[s]["shock_months"])
            if u[U_REMOVE_A + i] < -math.expm1(-rate):
                removed[s] = successor[s] = True

        # ceasefire: the background hazard, highest early
        if not at_war:
            base = b_long + (b_early - b_long) * math.exp(-since / fragility)
            p_break = base * (cf["guarantee_factor"] if terms.guarantees[terms_now] else 1.0)
            p_break = clip(p_break * cf["record_factor"] ** broken, 0.0, 1.0)
            if u[U_BREAK] < p_break:
                at_war, terms_now = True, -1
                breakdowns += 1
                broken += 1
                for s in SIDES:  # the war resumes at the start's intensity
                    casualty_ratio[s] = 1.0

    if first_month < 0:
        cas_to_settle = dict(cum_cas)
        held_end = held
    return {
        "first_settlement": first_month,
        "first_terms": first_terms,
        "casualties_A": cum_cas["A"],
        "casualties_B": cum_cas["B"],
        "casualties_to_settlement_A": cas_to_settle["A"],
        "held_at_end": held_end,
        "removed_A": removed["A"],
        "removed_B": removed["B"],
        "settlements": settlements,
        "breakdowns": breakdowns,
        "at_war_at_end": at_war,
    }


def neutral_scenario(scenario: Any) -> Any:
    """A loaded scenario with no votes on its terms (the structure this model covers); the parameters of
    :data:`NEUTRAL` are set on the sampled values (:func:`neutral_values`)."""
    return scenario.model_copy(update={"terms": [t.model_copy(update={"ratification": None}) for t in scenario.terms]})


def neutral_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Sampled parameter values (arrays, one per sample) with :data:`NEUTRAL` set on every sample."""
    n = len(next(iter(values.values())))
    return {**values, **{k: [v] * n for k, v in NEUTRAL.items()}}


def terms_of(scenario: object) -> Terms:
    """The plain lists of a loaded :class:`ceasefire.scenario.schema.Scenario`."""
    from ceasefire.scenario.build import structure_of

    st = structure_of(scenario)  # type: ignore[arg-type]
    if st.ratified_by.max(initial=-1) >= 0 or any(st.removes_leader[s].any() for s in SIDES):
        raise ValueError("this model has no votes and no terms that remove a leader")
    return Terms(
        available_from=[int(x) for x in st.available_from],
        guarantees=[bool(x) for x in st.guarantees],
        sanctions_relief=[float(x) for x in st.sanctions_relief],
        concession_to_a=[float(x) for x in st.concession_to_a],
        aim_weights={s: [float(x) for x in st.aim_weights[s]] for s in SIDES},
        aim_objective={s: [int(x) for x in st.aim_objective[s]] for s in SIDES},
        aim_lost={s: [bool(x) for x in st.aim_lost[s]] for s in SIDES},
        status_quo={s: [float(x) for x in st.status_quo[s]] for s in SIDES},
        granted={s: [[bool(x) for x in row] for row in st.granted[s]] for s in SIDES},
        prior_broken=float(scenario.ceasefire.prior_broken),  # type: ignore[attr-defined]
        objectives=[o.id for o in scenario.objectives],  # type: ignore[attr-defined]
        renewal_every={s: int(st.renewal_every[s]) for s in SIDES},
        renewal_first={s: int(st.renewal_first[s]) for s in SIDES},
    )


def own_noise(rng: random.Random) -> Noise:
    """Six normals and ten uniforms a month from Python's own generator."""

    def draw(t: int) -> tuple[list[float], list[float]]:
        return [rng.gauss(0.0, 1.0) for _ in range(N_NORMAL)], [rng.random() for _ in range(N_UNIFORM)]

    return draw


def given_noise(z: Sequence[Sequence[float]], u: Sequence[Sequence[float]]) -> Noise:
    """Replay given draws: ``z[t]`` and ``u[t]`` are month ``t``'s six normals and ten uniforms."""

    def draw(t: int) -> tuple[Sequence[float], Sequence[float]]:
        return z[t], u[t]

    return draw


def simulate(
    p: Mapping[str, float], terms: Terms, paths: int, horizon: int, lookahead: int, seed: int
) -> list[dict[str, float]]:
    """``paths`` paths, one after the other, each with its own draws from one ``random.Random(seed)``."""
    rng = random.Random(seed)
    return [simulate_path(p, terms, horizon, lookahead, own_noise(rng)) for _ in range(paths)]
