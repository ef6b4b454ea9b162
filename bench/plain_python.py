"""The flagship model written the way a user would without this tool: one path at a time, plain Python.

The same model as :mod:`ceasefire.model.engine` with the ``myopic`` policy (war dynamics, both
economies, both leaders' hazards of removal, each leader's valuation of every terms option against
fighting a look-ahead of months and then taking the best deal the other accepts, the Nash choice
among acceptable terms, ceasefire breakdown), one sample's parameters, scalars and ``math`` only:
loops over paths, months, sides and terms. It is the benchmark's reference for "what the engine's
vectorization buys" (``bench/run.py``); ``tests/test_plain_python.py`` checks that fed the engine's
own random numbers it follows the engine path by path, and that with its own it gives the same
distribution within Monte Carlo error.

The monthly bargaining range (a record, not an input to any decision) is not computed here; the
engine is timed against it with the range off.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

SIDES = ("A", "B")
TRANSITION_REASONS = ("war_economy", "bonuses_and_wages", "veterans", "risk_of_change", "need_for_victory")
PERSON_TIED = ("militarism", "punishment", "need_for_victory")
DAYS_PER_MONTH = 365.25 / 12
# noise columns, as in ceasefire.model.war
Z_FRONT, Z_INTENSITY, Z_PRICE, Z_STAB_A = 0, 1, 2, 3
U_REMOVE_A, U_AID_A, U_BREAK = 0, 2, 4

Noise = Callable[[int], tuple[Sequence[float], Sequence[float]]]
"""Month ``t`` -> five standard normals and five uniforms for one path."""


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
    granted: dict[str, list[list[bool]]]  # [aim][terms]
    prior_broken: float
    objectives: list[str]

    @property
    def count(self) -> int:
        return len(self.available_from)


def peace_value(
    base_rate: float, shock: float, tau: float, punishment: float, delta: float, tol: float = 1e-12
) -> float:
    """Value of signing now: the series of :func:`ceasefire.model.leader.peace_value`, one number."""
    q = math.exp(-1.0 / tau)
    amp = shock / (1.0 - q)
    r = delta * math.exp(-base_rate)
    flow_part = 1.0 - base_rate * punishment
    shock_cost = shock * punishment
    bound = 1.0 + abs(flow_part)
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


def fight_value(flow: float, rate: float, punishment: float, delta: float, months: int, then: float) -> float:
    r = delta * math.exp(-rate)
    annuity = (1.0 - r**months) / (1.0 - r) if abs(1.0 - r) > 1e-12 else float(months)
    return (flow - rate * punishment) * annuity + r**months * then


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def simulate_path(p: Mapping[str, float], terms: Terms, horizon: int, lookahead: int, noise: Noise) -> dict[str, float]:
    """One path of the true war under the myopic policy; ``p`` is one sample's parameters (dotted names)."""
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
    base_rate = {s: -math.log1p(-min(ld[s]["base_hazard"], 1.0 - 1e-12)) / 12.0 for s in SIDES}

    # the world's state
    area, held0 = p["territory.area_km2"], p["territory.held_km2"]
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
    spend0 = {s: e[s]["spending_other"] + e[s]["spending_war"] for s in SIDES}
    deficit0 = {}
    for s in SIDES:
        revenue0 = e[s]["revenue"] + e[s]["commodity_revenue"] * (1.0 - e[s]["sanctions"])
        revenue0 += f[s]["aid_finance"] * f[s]["aid_level"]
        deficit0[s] = max(spend0[s] - revenue0, 0.0)
    log_price = 0.0
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
        value = ld[s][f"reasons.{name}"]
        return value * (1.0 - ld[s]["successor.reset"]) if successor and name in PERSON_TIED else value

    def rate0(s: str, successor: bool) -> float:
        return base_rate[s] * ld[s]["successor.hazard_multiplier"] if successor else base_rate[s]

    def state_log(s: str) -> float:
        x = ld[s]["casualty_hazard"] * (casualty_ratio[s] - 1.0) + ld[s]["pain_hazard"] * pain[s]
        return x + ld[s]["instability_hazard"] * (stab[s]["initial"] - stability[s])

    def score(s: str, prog: list[float], granted: Sequence[bool]) -> float:
        weights = terms.aim_weights[s]
        total_weight = sum(weights)
        out = 0.0
        for j, w in enumerate(weights):
            obj = terms.aim_objective[s][j]
            pj = prog[obj] if obj >= 0 else 0.0
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
            sc = score(s, prog, [row[k] for row in terms.granted[s]])
            shortfall = ld[s]["aspiration"] + ld[s]["reasons.opportunism"] * offered - sc
            shortfall -= received + concession_terms(s)[k]
            out.append(clip(1.0 - max(shortfall, 0.0), 0.0, 1.0))
        return out

    def victory_battlefield(s: str, prog: list[float]) -> float:
        received = ld[s]["concession_received"]
        sc = score(s, prog, terms.aim_lost[s])
        shortfall = ld[s]["aspiration"] + ld[s]["reasons.opportunism"] * received - sc - received
        return clip(1.0 - max(shortfall, 0.0), 0.0, 1.0)

    def values(s: str, successor: bool, v_battle: float) -> dict[str, float]:
        """The leader's hazards, flows and the value of fighting on forever at today's hazard."""
        slog = state_log(s)
        r0 = rate0(s, successor)
        rate_war = r0 * math.exp(slog)
        peace_log = slog - ld[s]["casualty_hazard"] * casualty_ratio[s]
        rate_peace = r0 * math.exp(peace_log + reason(s, "legitimacy", successor))
        shock_total = sum(reason(s, r, successor) for r in TRANSITION_REASONS)
        pun = reason(s, "punishment", successor)
        lost_war = ld[s]["punishment_lost_war"]
        flow = 1.0 + reason(s, "militarism", successor)
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        delta = ld[s]["discount"]
        stay = (flow - rate_war * pun_war) / (1.0 - delta * math.exp(-rate_war))
        return {"rate_war": rate_war, "rate_peace": rate_peace, "shock_total": shock_total, "pun": pun,
                "lost_war": lost_war, "flow": flow, "pun_war": pun_war, "delta": delta, "stay": stay}  # fmt: skip

    def peace(s: str, val: Mapping[str, float], v: float) -> float:
        shock = val["shock_total"] * clip(1.0 - v, 0.0, 1.0) ** ld[s]["victory_relief"]
        punishment = val["pun"] * (1.0 + val["lost_war"]) - val["pun"] * val["lost_war"] * v
        return peace_value(val["rate_peace"], shock, ld[s]["shock_months"], punishment, val["delta"])

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
                val[s] = values(s, successor[s], vb)
                v_terms[s] = victory(s, prog)
                peace_now[s] = [peace(s, val[s], v) for v in v_terms[s]]
            # myopic: fight the look-ahead at today's hazard, then the best deal the other accepts today
            rho = power("A") / max(power("B"), 1e-12)
            accepts, later = {}, {}
            for s in SIDES:
                belief = math.exp(p[f"leaders.{s}.optimism"] * (1.0 if s == "A" else -1.0))
                gained = held - held0 + lookahead * (mu * (rho * belief) ** theta)
                later[s] = [peace(s, val[s], v) for v in victory(s, progress(gained))]
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
            if choice >= 0:
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
        relief = 0.0 if at_war else terms.sanctions_relief[max(terms_now, 0)]
        power_now = {s: power(s) for s in SIDES}
        rho = power_now["A"] / max(power_now["B"], 1e-12)
        intensity = math.exp(int_sd * z[Z_INTENSITY] - 0.5 * int_sd * int_sd)
        aid_flow = {s: u[U_AID_A + i] < f[s]["aid_reliability"] for i, s in enumerate(SIDES)}
        if at_war:
            held = clip(held + mu * rho**theta + gain_sd * z[Z_FRONT], 0.0, area)
        for s, other in (("A", "B"), ("B", "A")):
            fs = f[s]
            losses = c0[s] * power_now[other] ** q_fire * intensity if at_war else 0.0
            cum_cas[s] += losses
            casualty_ratio[s] = losses / c0[s]
            if at_war:
                recruits = fs["recruitment"] * math.exp(-fs["recruitment_pain_elasticity"] * pain[s])
                manpower[s] = max(
                    manpower[s] * (1.0 - fs["separation"]) - fs["permanent_loss_share"] * losses + recruits, 1.0
                )
                lost = equipment[s] * min(fs["equipment_loss"] * power_now[other] ** q_fire * intensity, 1.0)
                restored = min(storage[s], fs["equipment_restoration"])
                delivered = fs["aid_equipment"] * fs["aid_level"] * aid_flow[s]
                equipment[s] = max(equipment[s] - lost + fs["equipment_production"] + restored + delivered, 0.0)
                storage[s] -= restored
            elif equipment[s] < fs["equipment"]:  # production refills a depleted stock in peace
                equipment[s] = min(equipment[s] + fs["equipment_production"], fs["equipment"])
        for i, s in enumerate(SIDES):
            es = e[s]
            price = 1.0
            if s == "A":
                log_price = (1.0 - es["commodity_reversion"]) * log_price + es["commodity_volatility"] * z[Z_PRICE]
                price = math.exp(log_price)
            commodity = es["commodity_revenue"] * price * (1.0 - es["sanctions"] * (1.0 - relief))
            revenue = es["revenue"] + commodity + f[s]["aid_finance"] * f[s]["aid_level"] * aid_flow[s]
            spending = es["spending_other"] + es["spending_war"] * (1.0 if at_war else es["peace_war_spending"])
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

        # leaders
        for i, s in enumerate(SIDES):
            slog = state_log(s)
            r0 = rate0(s, successor[s])
            if at_war:
                rate = r0 * math.exp(slog)
            else:
                shock_total = sum(reason(s, r, successor[s]) for r in TRANSITION_REASONS)
                since = max(t - peace_start, 0)
                shock = shock_total * clip(1.0 - victory_now[s], 0.0, 1.0) ** ld[s]["victory_relief"]
                shock *= math.exp(-since / ld[s]["shock_months"])
                rate = r0 * math.exp(slog + reason(s, "legitimacy", successor[s])) + shock
            if u[U_REMOVE_A + i] < -math.expm1(-rate):
                removed[s] = successor[s] = True

        # ceasefire
        if not at_war:
            p_break = p["ceasefire.breakdown"] * (
                p["ceasefire.guarantee_factor"] if terms.guarantees[terms_now] else 1.0
            )
            p_break = clip(p_break * p["ceasefire.record_factor"] ** broken, 0.0, 1.0)
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


def terms_of(scenario: object) -> Terms:
    """The plain lists of a loaded :class:`ceasefire.scenario.schema.Scenario`."""
    from ceasefire.scenario.build import structure_of

    st = structure_of(scenario)  # type: ignore[arg-type]
    return Terms(
        available_from=[int(x) for x in st.available_from],
        guarantees=[bool(x) for x in st.guarantees],
        sanctions_relief=[float(x) for x in st.sanctions_relief],
        concession_to_a=[float(x) for x in st.concession_to_a],
        aim_weights={s: [float(x) for x in st.aim_weights[s]] for s in SIDES},
        aim_objective={s: [int(x) for x in st.aim_objective[s]] for s in SIDES},
        aim_lost={s: [bool(x) for x in st.aim_lost[s]] for s in SIDES},
        granted={s: [[bool(x) for x in row] for row in st.granted[s]] for s in SIDES},
        prior_broken=float(scenario.ceasefire.prior_broken),  # type: ignore[attr-defined]
        objectives=[o.id for o in scenario.objectives],  # type: ignore[attr-defined]
    )


def own_noise(rng: random.Random) -> Noise:
    """Five normals and five uniforms a month from Python's own generator."""

    def draw(t: int) -> tuple[list[float], list[float]]:
        return [rng.gauss(0.0, 1.0) for _ in range(5)], [rng.random() for _ in range(5)]

    return draw


def given_noise(z: Sequence[Sequence[float]], u: Sequence[Sequence[float]]) -> Noise:
    """Replay given draws: ``z[t]`` and ``u[t]`` are month ``t``'s five normals and five uniforms."""

    def draw(t: int) -> tuple[Sequence[float], Sequence[float]]:
        return z[t], u[t]

    return draw


def simulate(
    p: Mapping[str, float], terms: Terms, paths: int, horizon: int, lookahead: int, seed: int
) -> list[dict[str, float]]:
    """``paths`` paths, one after the other, each with its own draws from one ``random.Random(seed)``."""
    rng = random.Random(seed)
    return [simulate_path(p, terms, horizon, lookahead, own_noise(rng)) for _ in range(paths)]
