"""What changes after the start: levers that start late, and events with dates.

A war's parameters are drawn once per sample (:mod:`.params`), but some change on a date: a lever may
start in a later month (``start_month``), and an event (``[[events]]``, :class:`.structure.EventSpec`)
may change parameters, start a lever, replace a patron's leader or remove a side's leader from its month
on. Each event's month is known at the start of each war, per path (:func:`event_months`): a scheduled
event's month is the same on every path; an uncertain event's is drawn, from a monthly probability
(geometric, per path, from the war's own stream of event draws) or from a distribution of its month (an
uncertain parameter, per sample).

Each month the engine derives the month's parameters from the start's (:func:`params_at`): the events'
parameter changes where ``t >= month`` (per path), then the levers where ``t >= start_month`` (and
where an event started them), then the patrons' aid shares on their side's aid. :func:`at` rebuilds the
month's :class:`.war.Setup` around them; the start's references (the casualty ratio's, the budget's,
the forces') stay the start's, so pain and the casualty ratio measure the change. Where nothing varies
(a static fact of the structure, :attr:`.structure.Structure.varies`) the month's setup is the start's,
and nothing is computed.

Written once over the array namespace: ``t`` is a Python int in NumPy and a traced integer under
``lax.scan``; every choice that depends on it is an ``xp.where``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ceasefire.model import levers
from ceasefire.model.params import SIDES, Array, Params, get_at, replace_at
from ceasefire.model.structure import Structure
from ceasefire.model.war import Schedule, Setup, losses0
from ceasefire.model.xp import namespace

NEVER = np.inf
"""The month of an event that does not happen in this war."""


def geometric_month(u: Array, probability: Array) -> Array:
    """The first month (0, 1, ...) in which an event of monthly probability ``probability`` happens, from a
    uniform ``u`` in [0, 1): ``floor(log(1 - u) / log(1 - p))`` (inverse transform of the geometric law,
    mean ``(1 - p) / p``); :data:`NEVER` where ``p = 0``."""
    xp = namespace(u, probability)
    some = probability > 0.0
    p = xp.where(some, probability, 0.5)
    k = xp.floor(xp.log1p(-u) / xp.log1p(-p))  # p = 1: log1p(-1) = -inf, month 0
    return xp.where(some, k, NEVER)


def event_months(st: Structure, p: Params, u: Array | None) -> Array:
    """``(paths, events)`` the month each event happens on each path (``u``: the war's event uniforms,
    ``(paths, events)``). Without them (``None``: a caller that reads the start only, as the explanation)
    the events of a monthly probability do not happen, and a path's months are read on every path."""
    xp = namespace(u, p.territory.area_km2)
    columns = []
    for e, ev in enumerate(st.events):
        if ev.kind == "scheduled":
            month: Array = float(ev.month)
        elif ev.kind == "probability":
            month = NEVER if u is None else geometric_month(u[:, e], p.events[e].probability)
        else:
            month = xp.floor(p.events[e].within)
        columns.append(xp.atleast_1d(xp.asarray(month, dtype=xp.float64)))
    if not columns:
        return xp.zeros((1 if u is None else u.shape[0], 0))
    if u is not None:
        columns = [xp.broadcast_to(c, (u.shape[0],)) for c in columns]
    return xp.stack(xp.broadcast_arrays(*columns), axis=-1)


def schedule(
    st: Structure, params: Params, intensity: Sequence[Array], carried: Sequence[Array], event_u: Array | None
) -> Schedule | None:
    """What changes after the start of a war (``None`` where nothing does: no events, no late lever).

    ``params`` are the drawn parameters (no lever), ``intensity`` and ``carried`` each lever's intensity
    and whether it is carried out, ``event_u`` the war's event uniforms ``(paths, events)``, or ``None``
    (:func:`event_months`)."""
    if not (st.events or st.varies):
        return None
    return Schedule(params, tuple(intensity), tuple(carried), event_months(st, params, event_u))


def _when(condition: Any, then: Array, otherwise: Array) -> Array:
    """``then`` where ``condition``, else ``otherwise``: decided in Python for a Python bool (NumPy's month,
    the same numbers as before), by ``xp.where`` for an array or a traced value."""
    if isinstance(condition, (bool, np.bool_)):
        return then if condition else otherwise
    return namespace(condition, then, otherwise).where(condition, then, otherwise)


def intensities_at(sch: Schedule, st: Structure, t: Any) -> tuple[Array, ...]:
    """Each lever's intensity in month ``t``: the run's from its ``start_month`` (0 before), and from an
    event's month on the intensity the event starts it at (on the paths where it has happened)."""
    out = [_when(t >= lv.start_month, x, 0.0) for lv, x in zip(st.levers, sch.intensity, strict=True)]
    for e, ev in enumerate(st.events):
        for j, x in ev.levers:
            out[j] = _when(t >= sch.months[:, e], x, out[j])
    return tuple(out)


def params_at(sch: Schedule, st: Structure, t: Any) -> Params:
    """The parameters in force in month ``t``: the drawn ones, the events' changes where they have happened
    (in the scenario's order), then the levers that act (:func:`.levers.apply`), then the patrons' aid."""
    p = sch.base
    for e, ev in enumerate(st.events):
        if not ev.changes:
            continue
        on = t >= sch.months[:, e]
        for change, value in zip(ev.changes, sch.base.events[e].values, strict=True):
            now = get_at(p, change.target)
            xp = namespace(now, value, on)
            if change.effect == "set":
                changed = value
            elif change.effect == "add":
                changed = now + value
            else:
                changed = now * value
            p = replace_at(p, change.target, xp.where(on, xp.clip(changed, change.low, change.high), now))
    p = levers.apply(p, st, intensities_at(sch, st, t), sch.carried)
    return patron_aid(p, sch.base, st)


def _moves_aid(st: Structure) -> bool:
    """Whether a patron's aid share can change (an event or a lever targets it): static."""
    targets = [c.target for e in st.events for c in e.changes] + [lv.target for lv in st.levers]
    return any(t[0] == "patrons" and t[-1] == "aid_share" for t in targets)


def patron_aid(p: Params, base: Params, st: Structure) -> Params:
    """A side's military aid and budget support scaled by what its patrons supply now against what they
    supplied at the start: ``1 + sum_j (a_j(t) - a_j)`` over the patrons backing it (at least 0)."""
    if not st.patrons or not _moves_aid(st):
        return p
    for s in SIDES:
        mine = [j for j, spec in enumerate(st.patrons) if spec.side == s]
        if not mine:
            continue
        factor: Array = 1.0
        for j in mine:
            factor = factor + (p.patrons[j].aid_share - base.patrons[j].aid_share)
        xp = namespace(factor)
        factor = xp.maximum(factor, 0.0)
        f = p.sides[s].forces
        p = replace_at(p, ("sides", s, "forces", "aid_level"), f.aid_level * factor)
        p = replace_at(p, ("sides", s, "forces", "finance_level"), f.finance_level * factor)
    return p


def at(w: Setup, st: Structure, t: Any) -> Setup:
    """The month's setup: the parameters in force in month ``t`` (:func:`params_at`) and the losses they
    give at the start's power; the start's references and bias kept. ``w`` itself where nothing varies."""
    if w.schedule is None or not st.varies:
        return w
    p = params_at(w.schedule, st, t)
    return replace(w, p=p, c0=losses0(p))


def happened(w: Setup, events: Sequence[int], t: Any) -> Array | None:
    """``(paths,)``: one of ``events`` (indices) has happened by month ``t``; ``None`` where none is named."""
    return _any_event(w, events, lambda month: t >= month)


def happens(w: Setup, events: Sequence[int], t: Any) -> Array | None:
    """``(paths,)``: one of ``events`` happens in month ``t`` itself; ``None`` where none is named."""
    return _any_event(w, events, lambda month: month == t)


def _any_event(w: Setup, events: Sequence[int], hit: Callable[[Array], Array]) -> Array | None:
    """``(paths,)``: ``hit`` of the month of one of ``events`` at least; ``None`` where none is named."""
    if not events or w.schedule is None:
        return None
    months = w.schedule.months
    out = hit(months[:, events[0]])
    for e in events[1:]:
        out = out | hit(months[:, e])
    return out
