"""The war engine: monthly steps over many paths at once.

One call simulates a chunk of outer samples, each with its own paths; all arrays are flat
over ``samples x paths``. Every month, in this order:

1. **Decide** (paths at war): each leader values every terms option on the table against
   fighting on (:mod:`ceasefire.model.leader`, :mod:`ceasefire.model.bargaining`); the war
   ends where some terms are acceptable to both, on the terms with the largest Nash product.
2. **Fight** (paths still at war): front, casualties, manpower, equipment
   (:mod:`ceasefire.model.attrition`).
3. **Economy and stability** on every path (:mod:`ceasefire.model.economy`).
4. **Leaders** may lose office (:mod:`ceasefire.model.hazard`); a successor takes over with
   the person-tied reasons partly reset.
5. **Ceasefires** may break down; the war resumes from the state of that moment.

The kernels are pure; this module owns the state and the order of events only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import attrition, bargaining, economy, hazard, leader
from ceasefire.scenario.schema import SIDES, Scenario

Array = NDArray[np.float64]

POLICIES = ("myopic",)
"""Decision rules a leader can follow; ``myopic``: fight a fixed look-ahead, then the best deal."""

TRANSITION_REASONS = ("war_economy", "bonuses_and_wages", "veterans", "risk_of_change", "need_for_victory")
PERSON_TIED = ("militarism", "punishment", "need_for_victory")

# noise columns drawn per path and month
_Z_FRONT, _Z_INTENSITY, _Z_PRICE, _Z_STAB_A, _Z_STAB_B = range(5)
_U_REMOVE_A, _U_REMOVE_B, _U_AID_A, _U_AID_B, _U_BREAK = range(5)
N_NORMAL, N_UNIFORM = 5, 5


@dataclass(frozen=True)
class Structure:
    """The scenario's discrete structure as arrays: objectives, aims and terms."""

    n_objectives: int
    terms: tuple[str, ...]
    available_from: NDArray[np.int64]
    guarantees: NDArray[np.bool_]
    sanctions_relief: NDArray[np.float64]
    concession_to_a: NDArray[np.float64]
    aim_weights: dict[str, NDArray[np.float64]]
    aim_objective: dict[str, NDArray[np.int64]]
    aim_lost: dict[str, NDArray[np.bool_]]
    granted: dict[str, NDArray[np.bool_]]
    levers: tuple[str, ...]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Structure:
        objective_index = {o.id: i for i, o in enumerate(scenario.objectives)}
        weights, objective, lost, granted = {}, {}, {}, {}
        for side in SIDES:
            aims = scenario.leaders[side].aims  # type: ignore[index]
            weights[side] = np.array([a.weight for a in aims], dtype=float)
            objective[side] = np.array(
                [objective_index[a.objective] if a.objective else -1 for a in aims], dtype=np.int64
            )
            lost[side] = np.array([a.effect == "lost_by" for a in aims], dtype=bool)
            granted[side] = np.array([[a.id in t.grants for t in scenario.terms] for a in aims], dtype=bool)
        return cls(
            n_objectives=len(scenario.objectives),
            terms=tuple(t.id for t in scenario.terms),
            available_from=np.array([t.available_from for t in scenario.terms], dtype=np.int64),
            guarantees=np.array([t.security_guarantees for t in scenario.terms], dtype=bool),
            sanctions_relief=np.array([t.sanctions_relief for t in scenario.terms], dtype=float),
            concession_to_a=np.array([t.concession_to_A for t in scenario.terms], dtype=float),
            aim_weights=weights,
            aim_objective=objective,
            aim_lost=lost,
            granted=granted,
            levers=tuple(lv.id for lv in scenario.levers),
        )


@dataclass(frozen=True)
class RunConfig:
    horizon: int
    lookahead: int
    policy: str = "myopic"
    allow_settlement: bool = True
    record: bool = False
    """Keep monthly trajectories (territory, casualties, hazards, at-war) for every path."""


@dataclass
class Outcomes:
    """Per-path results of one chunk (arrays of shape ``(n,)`` unless noted)."""

    sample: NDArray[np.int64]
    first_settlement: NDArray[np.int64]  # month of the first settlement, -1 if none
    first_terms: NDArray[np.int64]  # index into Structure.terms, -1 if none
    under_successor: NDArray[np.bool_]  # first settlement signed by a successor (either side)
    casualties_to_settlement: dict[str, Array]
    casualties_total: dict[str, Array]
    held_at_end: Array  # km² held by A at the first settlement, else at the horizon
    objectives_taken: NDArray[np.float64]  # (n, objectives) progress at the same moment
    removed: dict[str, NDArray[np.bool_]]
    removal_month: dict[str, NDArray[np.int64]]
    ceasefire_months: NDArray[np.int64]  # months the first ceasefire held (to breakdown or horizon)
    ceasefire_broke: NDArray[np.bool_]
    settlements: NDArray[np.int64]
    breakdowns: NDArray[np.int64]
    at_war_at_end: NDArray[np.bool_]
    trajectories: dict[str, NDArray[np.float64]] = field(default_factory=dict)  # (months + 1, n)


class _Side:
    """Per-path parameters of one side and its leader, read from the flat parameter table."""

    def __init__(self, p: Mapping[str, Array], s: str) -> None:
        f, e, st, ld = f"sides.{s}.forces.", f"sides.{s}.economy.", f"sides.{s}.stability.", f"leaders.{s}."
        self.f = {k[len(f) :]: v for k, v in p.items() if k.startswith(f)}
        self.e = {k[len(e) :]: v for k, v in p.items() if k.startswith(e)}
        self.st = {k[len(st) :]: v for k, v in p.items() if k.startswith(st)}
        self.ld = {k[len(ld) :]: v for k, v in p.items() if k.startswith(ld)}
        self.base_rate = hazard.monthly_rate_from_annual(self.ld["base_hazard"])

    def reason(self, name: str, successor: NDArray[np.bool_]) -> Array:
        value = self.ld[f"reasons.{name}"]
        if name in PERSON_TIED:
            return np.where(successor, value * (1.0 - self.ld["successor.reset"]), value)
        return value

    def rate0(self, successor: NDArray[np.bool_]) -> Array:
        return np.where(successor, self.base_rate * self.ld["successor.hazard_multiplier"], self.base_rate)


def per_path(values: Mapping[str, Array], paths: int) -> dict[str, Array]:
    """Repeat per-sample parameter arrays ``(s,)`` to per-path arrays ``(s * paths,)``."""
    return {k: np.repeat(np.asarray(v, dtype=float), paths) for k, v in values.items()}


def simulate(
    scenario: Scenario,
    params: Mapping[str, Array],
    generators: Sequence[np.random.Generator],
    paths: int,
    config: RunConfig,
    lever_intensity: Mapping[str, float] | None = None,
    sample_offset: int = 0,
) -> Outcomes:
    """Simulate ``len(generators)`` outer samples of ``paths`` paths each.

    Parameters
    ----------
    params
        Per-path parameter arrays of shape ``(len(generators) * paths,)`` keyed by dotted path,
        levers *not* yet applied (see :func:`ceasefire.run.sampling.apply_levers`).
    generators
        One generator per outer sample: its paths' noise comes from it alone, so a sample's
        results do not depend on how samples are grouped into chunks.
    """
    from ceasefire.run.sampling import apply_levers

    if config.policy not in POLICIES:
        raise ValueError(f"unknown policy '{config.policy}' (policies: {', '.join(POLICIES)})")
    st = Structure.from_scenario(scenario)
    n_samples, T = len(generators), config.horizon
    n = n_samples * paths
    intensities = dict(lever_intensity or {})

    # noise, sample by sample: lever draws first, then normals and uniforms for every month
    lever_u = np.empty((n, len(st.levers)))
    z = np.empty((T, n, N_NORMAL))
    u = np.empty((T, n, N_UNIFORM))
    for i, g in enumerate(generators):
        sl = slice(i * paths, (i + 1) * paths)
        lever_u[sl] = g.random((paths, len(st.levers)))
        z[:, sl] = g.standard_normal((T, paths, N_NORMAL))
        u[:, sl] = g.random((T, paths, N_UNIFORM))
    credibility = {lv: params[f"levers.{lv}.credibility"] for lv in st.levers}
    carried = {lv: lever_u[:, j] < credibility[lv] for j, lv in enumerate(st.levers)}
    p = apply_levers(scenario, params, intensities, carried)

    A, B = _Side(p, "A"), _Side(p, "B")
    sides = {"A": A, "B": B}
    att = "attrition."

    # --- initial state -------------------------------------------------------------------
    area = p["territory.area_km2"]
    held0 = p["territory.held_km2"]
    held = held0.copy()
    obj_area = (
        np.stack([p[f"objectives.{o.id}.area_km2"] for o in scenario.objectives], axis=1)
        if (st.n_objectives)
        else np.zeros((n, 0))
    )
    obj_bounds = np.concatenate([np.zeros((n, 1)), np.cumsum(obj_area, axis=1)], axis=1)
    # c0: the month's expected losses at the start (levers applied); c_ref: the same without
    # levers, the reference the hazard's casualty ratio is measured against
    c0 = {"A": p[att + "casualties_per_day"] * attrition.DAYS_PER_MONTH}
    c0["B"] = c0["A"] / p[att + "exchange_ratio"]
    c_ref = {"A": params[att + "casualties_per_day"] * attrition.DAYS_PER_MONTH}
    c_ref["B"] = c_ref["A"] / params[att + "exchange_ratio"]
    manpower = {s: sides[s].f["manpower"].copy() for s in SIDES}
    equipment = {s: sides[s].f["equipment"].copy() for s in SIDES}
    storage = {s: sides[s].f["equipment_storage"].copy() for s in SIDES}
    reserves = {s: sides[s].e["reserves"].copy() for s in SIDES}
    log_price = {s: np.zeros(n) for s in SIDES}
    stability = {s: sides[s].st["initial"].copy() for s in SIDES}
    # pain is measured against the start *without* levers, so a lever's effect shows as pain
    before = {s: _Side(params, s) for s in SIDES}
    spend0 = {s: before[s].e["spending_other"] + before[s].e["spending_war"] for s in SIDES}
    revenue0 = {
        s: before[s].e["revenue"]
        + before[s].e["commodity_revenue"] * (1.0 - before[s].e["sanctions"])
        + before[s].f["aid_finance"] * before[s].f["aid_level"]
        for s in SIDES
    }

    deficit0 = {s: np.maximum(spend0[s] - revenue0[s], 0.0) for s in SIDES}
    pain = {s: np.zeros(n) for s in SIDES}
    casualty_ratio = {s: np.ones(n) for s in SIDES}
    cum_cas = {s: np.zeros(n) for s in SIDES}
    successor = {s: np.zeros(n, dtype=bool) for s in SIDES}
    removed = {s: np.zeros(n, dtype=bool) for s in SIDES}
    removal_month = {s: np.full(n, -1, dtype=np.int64) for s in SIDES}

    at_war = np.ones(n, dtype=bool)
    terms_now = np.full(n, -1, dtype=np.int64)
    peace_start = np.full(n, -1, dtype=np.int64)
    broken = np.full(n, scenario.ceasefire.prior_broken, dtype=float)
    settlements = np.zeros(n, dtype=np.int64)
    breakdowns = np.zeros(n, dtype=np.int64)
    first_month = np.full(n, -1, dtype=np.int64)
    first_terms = np.full(n, -1, dtype=np.int64)
    under_successor = np.zeros(n, dtype=bool)
    cas_to_settle = {s: np.zeros(n) for s in SIDES}
    held_end = np.full(n, np.nan)
    progress_end = np.full((n, st.n_objectives), np.nan)
    cf_months = np.zeros(n, dtype=np.int64)
    cf_broke = np.zeros(n, dtype=bool)
    victory_now = {s: np.zeros(n) for s in SIDES}
    traj: dict[str, list[Array]] = {}

    def record() -> None:
        if not config.record:
            return
        for name, arr in (
            ("held_km2", held),
            ("casualties_A", cum_cas["A"]),
            ("casualties_B", cum_cas["B"]),
            ("at_war", at_war.astype(float)),
            ("reserves_A", reserves["A"]),
            ("reserves_B", reserves["B"]),
            ("manpower_A", manpower["A"]),
            ("manpower_B", manpower["B"]),
            ("equipment_A", equipment["A"]),
            ("equipment_B", equipment["B"]),
            ("stability_A", stability["A"]),
            ("stability_B", stability["B"]),
        ):
            traj.setdefault(name, []).append(np.array(arr, dtype=float))

    record()
    concession_terms = {"A": st.concession_to_a, "B": np.zeros(len(st.terms))}
    L = config.lookahead
    mu, gain_sd, theta = p["territory.gain_km2_per_month"], p["territory.gain_sd_km2"], p["territory.power_elasticity"]
    q_fire, int_sd = p[att + "fire_exponent"], p[att + "intensity_sd"]

    for t in range(T):
        # leaders' gains from each terms over fighting on, NaN where no decision is taken
        gain_rows = (
            {f"gain_{s}_{term}": np.full(n, np.nan) for s in SIDES for term in st.terms} if config.record else {}
        )
        power = {
            s: attrition.combat_power(
                manpower[s],
                before[s].f["manpower"],
                sides[s].f["manpower_exponent"],
                equipment[s] / before[s].f["equipment"],
                sides[s].f["equipment_exponent"],
            )
            for s in SIDES
        }
        rho = power["A"] / np.maximum(power["B"], 1e-12)
        progress = attrition.objective_progress(held - held0, obj_bounds)
        available = st.available_from <= t
        state_log = {
            s: hazard.state_log_hazard(
                casualty_ratio[s],
                pain[s],
                sides[s].st["initial"] - stability[s],
                sides[s].ld["casualty_hazard"],
                sides[s].ld["pain_hazard"],
                sides[s].ld["instability_hazard"],
            )
            for s in SIDES
        }

        # 1. decide ---------------------------------------------------------------------
        if config.allow_settlement and at_war.any() and available.any():
            idx = np.flatnonzero(at_war)
            gains: dict[str, Array] = {}
            accepts: dict[str, NDArray[np.bool_]] = {}
            plan: dict[str, _Valuation] = {}
            for s in SIDES:
                sd_ = sides[s]
                belief = np.exp(sd_.ld["optimism"][idx] * (1.0 if s == "A" else -1.0))
                expected_gain = mu[idx] * np.power(rho[idx] * belief, theta[idx])
                projected = attrition.objective_progress(held[idx] - held0[idx] + L * expected_gain, obj_bounds[idx])
                v_battle = _victory_battlefield(st, s, progress[idx], sd_, idx)
                victory_now[s][idx] = v_battle
                # in peace the casualty term falls to zero and the war's legitimacy is lost
                peace_log = state_log[s][idx] - sd_.ld["casualty_hazard"][idx] * casualty_ratio[s][idx]
                plan[s] = _Valuation.of(
                    sd_,
                    successor[s],
                    idx,
                    state_log[s][idx],
                    peace_log,
                    v_battle,
                    _victory(st, s, progress[idx], sd_, idx, concession_terms[s]),
                    _victory(st, s, projected, sd_, idx, concession_terms[s]),
                    L,
                )
            # a myopic leader fights L months and then expects the best deal the other side
            # accepts today (valued at his projected victory score), or else to fight on
            for s in SIDES:
                accepts[s] = (plan[s].gain(plan[s].stay) >= 0.0) & available[None, :]
            for s, other in (("A", "B"), ("B", "A")):
                best_later = np.where(accepts[other], plan[s].peace_later, -np.inf).max(axis=1)
                gains[s] = plan[s].gain(np.maximum(plan[s].stay, best_later))
            if config.record:
                for s in SIDES:
                    for j, term in enumerate(st.terms):
                        gain_rows[f"gain_{s}_{term}"][idx] = gains[s][:, j]
            choice = bargaining.choose_terms(gains["A"], gains["B"], available)
            signs = choice >= 0
            if signs.any():
                who = idx[signs]
                k = choice[signs]
                at_war[who] = False
                terms_now[who] = k
                peace_start[who] = t
                settlements[who] += 1
                first = who[first_month[who] < 0]
                kf = terms_now[first]
                first_month[first] = t
                first_terms[first] = kf
                under_successor[first] = successor["A"][first] | successor["B"][first]
                for s in SIDES:
                    cas_to_settle[s][first] = cum_cas[s][first]
                held_end[first] = held[first]
                progress_end[first] = progress[first]
                for s in SIDES:
                    victory_now[s][who] = _victory(st, s, progress[who], sides[s], who, concession_terms[s])[
                        np.arange(len(who)), k
                    ]

        # 2. fight ----------------------------------------------------------------------
        war = at_war
        zt, ut = z[t], u[t]
        intensity = attrition.intensity_factor(zt[:, _Z_INTENSITY], int_sd)
        delivered = {
            s: sides[s].f["aid_equipment"]
            * sides[s].f["aid_level"]
            * (ut[:, _U_AID_A + i] < sides[s].f["aid_reliability"])
            for i, s in enumerate(SIDES)
        }
        aid_flow = {s: ut[:, _U_AID_A + i] < sides[s].f["aid_reliability"] for i, s in enumerate(SIDES)}
        gain = attrition.front_change(mu, rho, theta, gain_sd, zt[:, _Z_FRONT])
        held = np.where(war, np.clip(held + gain, 0.0, area), held)
        losses = {}
        for s, other in (("A", "B"), ("B", "A")):
            lost = attrition.expected_losses(c0[s], power[other], q_fire) * intensity
            losses[s] = np.where(war, lost, 0.0)
            cum_cas[s] = cum_cas[s] + losses[s]
            casualty_ratio[s] = losses[s] / c_ref[s]
            f = sides[s].f
            recruits = f["recruitment"] * np.exp(-f["recruitment_pain_elasticity"] * pain[s])
            manpower[s] = np.where(
                war,
                np.maximum(
                    manpower[s] * (1.0 - f["separation"]) - f["permanent_loss_share"] * losses[s] + recruits, 1.0
                ),
                manpower[s],
            )
            new_k, new_pool = attrition.equipment_step(
                equipment[s],
                storage[s],
                f["equipment_loss"],
                power[other],
                q_fire,
                intensity,
                f["equipment_production"],
                f["equipment_restoration"],
                delivered[s],
            )
            # in peace production refills a depleted stock toward its start; a larger stock is kept
            refilled = np.where(
                equipment[s] >= f["equipment"],
                equipment[s],
                np.minimum(equipment[s] + f["equipment_production"], f["equipment"]),
            )
            equipment[s] = np.where(war, new_k, refilled)
            storage[s] = np.where(war, new_pool, storage[s])

        # 3. economy and stability ------------------------------------------------------
        relief = np.where(war, 0.0, st.sanctions_relief[np.maximum(terms_now, 0)])
        for i, s in enumerate(SIDES):
            e, f = sides[s].e, sides[s].f
            if s == "A":
                log_price[s] = economy.log_price_step(
                    log_price[s], e["commodity_reversion"], e["commodity_volatility"], zt[:, _Z_PRICE]
                )
            commodity = e["commodity_revenue"] * np.exp(log_price[s]) * (1.0 - e["sanctions"] * (1.0 - relief))
            revenue = e["revenue"] + commodity + f["aid_finance"] * f["aid_level"] * aid_flow[s]
            spending = e["spending_other"] + e["spending_war"] * np.where(war, 1.0, e["peace_war_spending"])
            reserves[s], deficit, exhausted = economy.treasury_step(reserves[s], revenue, spending, e["reserve_share"])
            pain[s] = economy.economic_pain(deficit, deficit0[s], exhausted, spend0[s], e["exhaustion_pain"])
            stability[s] = economy.stability_step(
                stability[s],
                sides[s].st["initial"],
                sides[s].st["recovery"],
                pain[s],
                sides[s].st["pain_sensitivity"],
                np.maximum(casualty_ratio[s] - 1.0, 0.0),
                sides[s].st["casualty_sensitivity"],
                sides[s].st["noise_sd"],
                zt[:, _Z_STAB_A + i],
            )

        # 4. leaders --------------------------------------------------------------------
        for i, s in enumerate(SIDES):
            sd_ = sides[s]
            rate0 = sd_.rate0(successor[s])
            slog = hazard.state_log_hazard(
                casualty_ratio[s],
                pain[s],
                sd_.st["initial"] - stability[s],
                sd_.ld["casualty_hazard"],
                sd_.ld["pain_hazard"],
                sd_.ld["instability_hazard"],
            )
            war_rate = hazard.war_rate(rate0, slog)
            shock_total = sum((sd_.reason(r, successor[s]) for r in TRANSITION_REASONS), np.zeros(n))
            since = np.maximum(t - peace_start, 0)
            shock = hazard.transition_shock(shock_total, victory_now[s], sd_.ld["victory_relief"]) * np.exp(
                -since / sd_.ld["shock_months"]
            )
            peace_rate = hazard.peace_base_rate(rate0, slog, sd_.reason("legitimacy", successor[s])) + shock
            h = hazard.probability(np.where(at_war, war_rate, peace_rate))
            out = ut[:, _U_REMOVE_A + i] < h
            removal_month[s] = np.where(out & ~removed[s], t, removal_month[s])
            removed[s] |= out
            successor[s] |= out

        # 5. ceasefires -----------------------------------------------------------------
        in_peace = ~at_war
        k_now = np.maximum(terms_now, 0)
        p_break = bargaining.breakdown_probability(
            p["ceasefire.breakdown"],
            st.guarantees[k_now],
            p["ceasefire.guarantee_factor"],
            p["ceasefire.record_factor"],
            broken,
        )
        breaks = in_peace & (ut[:, _U_BREAK] < p_break)
        first_peace = in_peace & (settlements == 1)
        cf_months = np.where(first_peace & ~cf_broke, cf_months + 1, cf_months)
        cf_broke |= breaks & (settlements == 1)
        at_war = at_war | breaks
        breakdowns += breaks
        broken += breaks
        terms_now = np.where(breaks, -1, terms_now)
        for s in SIDES:  # the war resumes at the start's intensity, not at peace's zero
            casualty_ratio[s] = np.where(breaks, 1.0, casualty_ratio[s])
        for name, row in gain_rows.items():
            traj.setdefault(name, []).append(row)
        record()

    never = first_month < 0
    held_end = np.where(never, held, held_end)
    progress_end = np.where(never[:, None], attrition.objective_progress(held - held0, obj_bounds), progress_end)
    for s in SIDES:
        cas_to_settle[s] = np.where(never, cum_cas[s], cas_to_settle[s])
    sample = np.repeat(np.arange(n_samples, dtype=np.int64) + sample_offset, paths)
    return Outcomes(
        sample=sample,
        first_settlement=first_month,
        first_terms=first_terms,
        under_successor=under_successor,
        casualties_to_settlement=cas_to_settle,
        casualties_total=cum_cas,
        held_at_end=held_end,
        objectives_taken=progress_end,
        removed=removed,
        removal_month=removal_month,
        ceasefire_months=cf_months,
        ceasefire_broke=cf_broke,
        settlements=settlements,
        breakdowns=breakdowns,
        at_war_at_end=at_war,
        trajectories={k: np.stack(v) for k, v in traj.items()},
    )


@dataclass(frozen=True)
class _Valuation:
    """One leader's values on the paths at war: each terms option now and later, and fighting on."""

    peace_now: Array  # (n, terms)
    peace_later: Array  # (n, terms), at the victory score projected after the look-ahead
    stay: Array  # fighting on forever at the current hazard
    flow: Array
    rate_war: Array
    punishment_war: Array
    delta: Array
    lookahead: int

    @classmethod
    def of(
        cls,
        sd: _Side,
        successor: NDArray[np.bool_],
        idx: NDArray[np.int64],
        war_log: Array,
        peace_log: Array,
        v_battle: Array,
        v_now: Array,
        v_later: Array,
        lookahead: int,
    ) -> _Valuation:
        rate0 = sd.rate0(successor)[idx]
        rate_war = hazard.war_rate(rate0, war_log)
        rate_peace = hazard.peace_base_rate(rate0, peace_log, sd.reason("legitimacy", successor)[idx])
        shock_total = sum((sd.reason(r, successor)[idx] for r in TRANSITION_REASONS), np.zeros(idx.size))
        pun = sd.reason("punishment", successor)[idx]
        lost_war = sd.ld["punishment_lost_war"][idx]
        delta, tau, gamma = sd.ld["discount"][idx], sd.ld["shock_months"][idx], sd.ld["victory_relief"][idx]

        def peace(v: Array) -> Array:
            shock = hazard.transition_shock(shock_total[:, None], v, gamma[:, None])
            punishment = (pun * (1.0 + lost_war))[:, None] - (pun * lost_war)[:, None] * v
            return leader.peace_value(rate_peace[:, None], shock, tau[:, None], punishment, delta[:, None])

        flow = 1.0 + sd.reason("militarism", successor)[idx]
        pun_war = pun * (1.0 + lost_war * (1.0 - v_battle))
        stay = leader.stationary_value(flow, rate_war, pun_war, delta)
        return cls(peace(v_now), peace(v_later), stay, flow, rate_war, pun_war, delta, lookahead)

    def gain(self, continuation: Array) -> Array:
        """Value of each terms now minus fighting ``lookahead`` months and then ``continuation``."""
        fight = leader.fight_value(
            self.flow, self.rate_war, self.punishment_war, self.delta, self.lookahead, continuation
        )
        return self.peace_now - fight[:, None]


def _aim_progress(st: Structure, side: str, progress: Array) -> Array:
    obj = st.aim_objective[side]
    padded = np.concatenate([progress, np.zeros((progress.shape[0], 1))], axis=1)
    return padded[:, np.where(obj >= 0, obj, progress.shape[1])]


def _victory(
    st: Structure,
    side: str,
    progress: Array,
    sd: _Side,
    idx: NDArray[np.int64],
    concession_terms: NDArray[np.float64],
) -> Array:
    """``(len(idx), terms)`` victory scores of every terms option for one side's leader."""
    score = bargaining.weighted_attainment(
        st.granted[side], _aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side]
    )
    received = sd.ld["concession_received"][idx]
    offered = received + (concession_terms.max() if concession_terms.size else 0.0)
    concession = received[:, None] + concession_terms[None, :]
    return bargaining.victory_from_score(
        score, sd.ld["aspiration"][idx], concession, offered, sd.ld["reasons.opportunism"][idx]
    )


def _victory_battlefield(st: Structure, side: str, progress: Array, sd: _Side, idx: NDArray[np.int64]) -> Array:
    """Victory score of the battlefield alone (no terms): what a removal during the war is judged by.

    An aim that A's progress defeats is still held while not lost, which is the attainment of a
    grant (``g (1 - p)`` with ``g = 1``); an aim that progress achieves is met as far as taken.
    """
    held = st.aim_lost[side][:, None]
    score = bargaining.weighted_attainment(
        held, _aim_progress(st, side, progress), st.aim_lost[side], st.aim_weights[side]
    )
    received = sd.ld["concession_received"][idx]
    return bargaining.victory_from_score(
        score, sd.ld["aspiration"][idx], received[:, None], received, sd.ld["reasons.opportunism"][idx]
    )[:, 0]
