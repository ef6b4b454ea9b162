"""Patrons: third parties who back a side, supply part of its aid and may veto its terms.

A patron ``j`` backs one side and judges terms by the backed side's aims, with his own weights: his
*policy outcome* of terms ``k`` is his weighted attainment of those aims under ``k`` (``H_j(k)``, the
attainment a leader's policy flow reads, :func:`.bargaining.weighted_attainment`), that of going on is
their attainment on the battlefield (``H_j(war)``). He accepts ``k`` when

    psi_j H_j(k) >= psi_j H_j(war) - c_j

with ``psi_j`` (``policy_weight``) what a month of full attainment is worth to him and ``c_j``
(``war_cost``) what a month of the war costs him at home, both in months of his office: the flow of the
peace against the flow of the war, month for month. He is not a party who fights or signs: he does not
bear the war's risks on his office nor solve a stopping problem, and his assent is a comparison of
steady flows of the state as it is (``docs/model.md``, "Patrons").

Where he holds a veto, terms he refuses are off the table for the side he backs, and so for both: the
decision reads them as unavailable (:func:`assent`, folded into the terms on the table by
:func:`.month.on_table`). An event may replace his leader (:mod:`.timeline`): from its month his
successor decides afresh, with his own weights, ``psi`` and war cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ceasefire.model import bargaining, timeline
from ceasefire.model.params import Array, PatronLeader
from ceasefire.model.structure import Structure
from ceasefire.model.valuation import aim_progress
from ceasefire.model.war import Setup
from ceasefire.model.xp import namespace


def _accepts(st: Structure, side: str, weights: tuple[float, ...], ld: PatronLeader, progress: Array) -> Array:
    """``(paths, terms)``: the terms whose policy flow to a patron's leader (weights ``weights`` over the
    side's aims) is at least the war's less its cost to him."""
    w = np.asarray(weights, dtype=float)
    progress_aims = aim_progress(st, side, progress)
    lost, untied = st.aim_lost[side], st.untied(side)
    terms = bargaining.weighted_attainment(st.granted[side], progress_aims, lost, w, untied)
    war = bargaining.weighted_attainment(lost[:, None], progress_aims, lost, w, untied)[:, 0]
    psi = ld.policy_weight
    return _column(psi) * terms >= _column(psi * war - ld.war_cost)


def _column(a: Array) -> Array:
    """A path's quantity against the terms (a number stays as it is)."""
    return a[:, None] if np.ndim(a) else a


def accepts(w: Setup, st: Structure, j: int, progress: Array, t: Any) -> Array:
    """``(paths, terms)``: the terms patron ``j`` accepts in month ``t`` at the objectives' ``progress``
    ``(paths, objectives)``, by his leader's calculus or, where an event has replaced him, his successor's."""
    spec, pp = st.patrons[j], w.p.patrons[j]
    incumbent = _accepts(st, spec.side, spec.weights[0], pp.leader, progress)
    succ = timeline.happened(w, st.replacing(j), t)  # an event has replaced his leader (None: none can)
    if succ is None:
        return incumbent
    successor = _accepts(st, spec.side, spec.weights[1], pp.successor, progress)
    return namespace(progress, succ).where(succ[:, None], successor, incumbent)


def assent(w: Setup, st: Structure, progress: Array, t: Any) -> Array | None:
    """``(paths, terms)``: the terms no patron vetoes in month ``t`` (``None`` where no patron holds a veto)."""
    out = None
    for j, spec in enumerate(st.patrons):
        if spec.veto:
            ok = accepts(w, st, j, progress, t)
            out = ok if out is None else out & ok
    return out
