"""The local dashboard: choose a scenario, move levers and key assumptions, see the answer change.

:func:`create_app` returns the Dash app (run it with ``app.run(host="127.0.0.1")`` or in a thread
through ``app.server``, a Flask WSGI app). Its callbacks are thin: they call the methods of
:class:`Dashboard`, which turn the browser's values into figures and text using
:class:`ceasefire.web.service.DashboardService` (the computing) and the report's figure builders.

Everything is served by the app itself (``serve_locally=True``): no CDN, no fonts or scripts
from elsewhere; it binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from dash import ALL, MATCH, Dash, Input, Output, State, dcc, html, no_update

from ceasefire import __version__
from ceasefire.errors import CeasefireError
from ceasefire.report import figures
from ceasefire.scenario.load import FLAGSHIP
from ceasefire.web.cache import CACHED, SHARED, SingleFlightCache
from ceasefire.web.catalog import ScenarioCatalog
from ceasefire.web.inputs import control_ids, lever_grid, slider_values
from ceasefire.web.limits import Assumption, RunLimits, assumptions, full_spec, preview_spec
from ceasefire.web.service import Busy, DashboardService, Job, Preview

STYLE = {
    "page": {"fontFamily": figures.FONT, "margin": "0", "color": "#1b1b1b", "background": "#fafafa"},
    "header": {"background": "#1f2a36", "color": "#fff", "padding": "12px 24px"},
    "grid": {"display": "grid", "gridTemplateColumns": "360px 1fr", "gap": "16px", "padding": "16px 24px"},
    "panel": {"background": "#fff", "border": "1px solid #e3e3e3", "borderRadius": "6px", "padding": "12px 16px"},
    "cards": {"display": "flex", "flexWrap": "wrap", "gap": "10px"},
    "card": {
        "border": "1px solid #dde3ea",
        "borderRadius": "6px",
        "padding": "8px 12px",
        "minWidth": "170px",
        "flex": "1 1 170px",
        "background": "#f7f9fb",
    },
    "label": {"fontSize": "12px", "color": "#555"},
    "value": {"fontSize": "24px", "fontWeight": "600"},
    "note": {"fontSize": "11px", "color": "#666"},
    "control": {"marginBottom": "14px"},
    "control_label": {"fontSize": "13px", "marginBottom": "2px"},
    "control_value": {"fontSize": "12px", "color": "#1f4e79", "fontWeight": "600"},
    "full": {
        "border": "1px solid #c9d6e3",
        "borderRadius": "6px",
        "padding": "8px 12px",
        "margin": "10px 0",
        "background": "#f3f7fb",
    },
    "button": {"padding": "6px 14px", "marginRight": "10px", "cursor": "pointer"},
}


MAX_REQUEST_BYTES = 1024 * 1024
"""Largest request body accepted (a slider callback is a few kB)."""


def _pct(p: float | None) -> str:
    return "n/a" if p is None else f"{100 * p:.1f}%"


VERDICT_COLOURS = {"supported": "#1a7f37", "contradicted": "#c0392b", "undecided": "#777777"}


def claims_table(p: Preview) -> Any:
    """The scenario's claims judged on the preview's world, beside their verdicts without the changes."""
    if not p.claims:
        return html.Div("no claims in this scenario (or the claims analysis is not installed)", style=STYLE["note"])
    before = {c["id"]: c["verdict"] for c in p.baseline_claims}

    def verdict(v: str) -> Any:
        return html.Span(v, style={"color": VERDICT_COLOURS.get(v, "#777777"), "fontWeight": "600"})

    def shown(c: dict[str, Any]) -> str:
        if c["estimate"] is None:
            return "—"
        interval = "" if c["low"] is None or c["high"] is None else f" [{c['low']:.3g}, {c['high']:.3g}]"
        return f"{c['estimate']:.3g}{interval}"

    head = html.Tr([html.Th(h) for h in ("claim", "the source asserts", "query", "estimate [95%]", "now", "before")])
    rows = [
        html.Tr(
            [
                html.Td(c["id"]),
                html.Td(c["asserts"]),
                html.Td(html.Code(c["query"])),
                html.Td(shown(c)),
                html.Td(verdict(c["verdict"]), className=f"verdict-{c['id']}"),
                html.Td(verdict(before.get(c["id"], ""))),
            ]
        )
        for c in p.claims
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], style={"fontSize": "12px", "borderCollapse": "collapse"})


def lever_value_text(lever: Any, x: float | None) -> str:
    """A lever slider's position and what it costs there: ``1.5 of 2 · expected cost 31.5 bn USD/year``.

    The cost is the expected cost per unit (the mean of its distribution) times the intensity, as
    ``ceasefire levers`` reports it.
    """
    from ceasefire.analysis.levers import expected

    x = 0.0 if x is None else float(x)
    if x == 0:
        return f"off (0 of {lever.intensity_max:g}) · cost 0"
    cost = expected(lever.cost_per_unit) * x
    return f"{x:g} of {lever.intensity_max:g} · expected cost {cost:,.1f} {lever.cost_unit}"


def assumption_value_text(a: Assumption, x: float | None) -> str:
    """An assumption slider's position: ``+0.10 (added)`` or ``× 1.25``, and whether it is the scenario's."""
    x = a.neutral if x is None else float(x)
    shown = f"{x:+.2f} added to every sample" if a.kind == "shift" else f"× {x:g} the scenario's value"
    return shown + (" (as in the scenario)" if x == a.neutral else "")


def _div(style: str, *children: Any, **attrs: Any) -> Any:
    """A ``Div`` of ``children`` in the style ``STYLE[style]``."""
    return html.Div(list(children), style=STYLE[style], **attrs)


def _note(text: str, ident: str | None = None) -> Any:
    """A small note under a card's value (with an id where tests or tools read it)."""
    attrs: dict[str, Any] = {"id": ident} if ident else {}
    return html.Div(text, style=STYLE["note"], **attrs)


def _card(label: str, value: str, *notes: Any, **value_attrs: Any) -> Any:
    """A headline card: its label, its value (``value_attrs``: the value's id and data attributes) and
    the notes under it (text, or a :func:`_note` with an id)."""
    notes = tuple(_note(n) if isinstance(n, str) else n for n in notes)
    return _div(
        "card", html.Div(label, style=STYLE["label"]), html.Div(value, style=STYLE["value"], **value_attrs), *notes
    )


def _beyond(label: str, horizon: int, **value_attrs: Any) -> Any:
    """The card of a window the horizon does not reach: not estimated, and said so."""
    return _card(f"settlement within {label}", "beyond the horizon", f"the run covers {horizon} months", **value_attrs)


def _slider(
    label: str, value_text: str, kind: str, ident: str, low: float, high: float, step: float, value: float, **extra: Any
) -> Any:
    """A labelled slider of ``kind`` ("lever" or "assumption") from ``low`` to ``high`` by ``step``, at
    ``value``, with the text of its position under the label."""
    return _div(
        "control",
        html.Div(label, style=STYLE["control_label"]),
        html.Div(value_text, id={"type": f"{kind}-value", "id": ident}, style=STYLE["control_value"]),
        dcc.Slider(
            id={"type": kind, "id": ident},
            min=low,
            max=high,
            step=step,
            value=value,
            marks=None,
            allow_direct_input=False,
            **extra,
        ),
    )


def _against_full(preview: dict[str, Any], full: Job | None, label: str, other_full: bool) -> str:
    """How a preview's probability differs from the full-size run of the same settings, in points and in
    standard errors of the difference (the two runs' samples are drawn apart, so their errors add)."""
    if full is None or full.result is None:
        if other_full:
            return "the full-size run was made with other settings: run it again to compare"
        return "press 'Full-size run' to see this at full size"
    f = full.result["summary"]["settle_within"][label]
    diff = preview["p"] - f["p"]
    se = (preview["se"] ** 2 + f["se"] ** 2) ** 0.5
    apart = f", {abs(diff) / se:.1f} s.e. apart" if se > 0 else ""
    sizes = f"{full.spec.samples} × {full.spec.paths}"
    word = "above" if diff > 0 else "below" if diff < 0 else "equal to"
    return (
        f"full-size run ({sizes}): {_pct(f['p'])} ± {100 * f['se']:.1f}; the preview is "
        f"{abs(100 * diff):.1f} points {word} it{apart}"
    )


class Dashboard:
    """The dashboard's state (catalog, service) and its callbacks' bodies."""

    def __init__(
        self, scenario: str | None = None, scenarios_dir: Path | None = None, limits: RunLimits | None = None
    ) -> None:
        self.catalog = ScenarioCatalog(scenarios_dir)
        self.service = DashboardService(self.catalog, limits)
        # the figures and tables of a preview, built once per preview (building them takes ~0.1 s)
        self._rendered: SingleFlightCache[tuple[go.Figure, go.Figure, go.Figure, Any]] = SingleFlightCache(
            self.service.limits.preview_cache
        )
        names = self.catalog.names()
        if not names:
            raise CeasefireError("no scenarios to offer (none shipped, and none in --scenarios-dir)")
        self.first = scenario if scenario is not None else FLAGSHIP if FLAGSHIP in names else names[0]
        self.catalog.path(self.first)  # unknown names fail here
        self.app = self._build()

    # -- layout --------------------------------------------------------------------------------

    def controls(self, name: str) -> list[Any]:
        """Sliders for the levers and the key assumptions of scenario ``name``."""
        sc = self.catalog.load(name)
        out: list[Any] = [html.H3("Levers", style={"fontSize": "15px"})]
        grid = lever_grid(sc)
        out += [
            _slider(
                f"{lv.name} ({lv.id})",
                lever_value_text(lv, 0.0),
                "lever",
                lv.id,
                *grid[lv.id],
                0.0,
                className=f"lever-{lv.id}",
            )
            for lv in sc.levers
        ]
        out.append(html.H3("Key assumptions", style={"fontSize": "15px"}))
        out += [
            _slider(
                a.label, assumption_value_text(a, a.neutral), "assumption", a.path, a.low, a.high, a.step, a.neutral
            )
            for a in assumptions(sc)
        ]
        return out

    def _build(self) -> Dash:
        app = Dash(
            __name__,
            serve_locally=True,
            title="ceasefire dashboard",
            suppress_callback_exceptions=True,
            update_title="",
        )
        app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # larger bodies get 413, unread
        sc = self.catalog.load(self.first)
        limits = self.service.limits
        pre, full = preview_spec(sc, limits), full_spec(sc, limits)
        settings = _div(
            "panel",
            html.Label("Scenario", style=STYLE["control_label"]),
            dcc.Dropdown(
                id="scenario",
                options=[{"label": n, "value": n} for n in self.catalog.names()],
                value=self.first,
                clearable=False,
            ),
            html.Div(id="controls", children=self.controls(self.first)),
            html.Button("Reset all", id="reset", n_clicks=0, style=STYLE["button"]),
            _note("puts every lever off and every assumption back to the scenario's value"),
        )
        full_box = _div(
            "full",
            html.Div(
                [
                    html.Button("Full-size run", id="full-run", n_clicks=0, style=STYLE["button"]),
                    html.Span(
                        f"the settings above at {full.samples} samples × {full.paths} "
                        f"paths (the preview: {pre.samples} × {pre.paths})",
                        style=STYLE["note"],
                    ),
                ]
            ),
            html.Progress(id="full-progress", value="0", max="1", style={"width": "100%"}),
            html.Div(id="full-status", style=STYLE["note"]),
            html.Div(id="full-headline", style=STYLE["cards"]),
            dcc.Graph(
                id="full-settlement",
                figure=figures.blank("its settlement curve will appear here", 70),
                config={"displaylogo": False},
            ),
            id="full-box",
        )
        results = _div(
            "panel",
            html.Div(id="headline", style=STYLE["cards"]),
            html.Div(id="preview-note", style=STYLE["note"]),
            full_box,
            dcc.Loading(dcc.Graph(id="settlement", config={"displaylogo": False})),
            html.Div(
                [
                    dcc.Graph(id="terms", config={"displaylogo": False}),
                    dcc.Graph(id="gaps", config={"displaylogo": False}),
                ],
                style={"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(520px, 1fr))", "gap": "8px"},
            ),
            html.H3("Which claims hold in this world", style={"fontSize": "15px"}),
            html.Div(id="claims"),
        )
        app.layout = _div(
            "page",
            _div(
                "header",
                html.H1("ceasefire — what would end the war?", style={"margin": "0", "fontSize": "22px"}),
                html.Div(f"ceasefire {__version__} · local dashboard", style={"color": "#cfd8e3"}),
            ),
            _div("grid", settings, results),
            dcc.Store(id="job"),
            dcc.Store(id="full-done"),
            dcc.Interval(id="poll", interval=500, disabled=True),
        )
        self._callbacks(app)
        return app

    # -- callback bodies -----------------------------------------------------------------------

    def cards(self, p: Preview, full: Job | None = None, other_full: bool = False) -> list[Any]:
        """Headline numbers of a preview: each probability with its Monte Carlo standard error and the
        preview's sizes, against the same samples without the changes, and against the full-size run of
        the same settings once that has run (``full``; ``other_full``: one has run, with other settings)."""
        now, base = p.summary, p.baseline_summary
        sizes = f"{now['samples']} samples × {now['paths']} paths"
        out = []
        for label in ("12 months", "24 months"):
            ident = f"p-settle-{label.split()[0]}"
            if label not in now["settle_within"]:  # a window the horizon does not reach: not estimated
                out.append(_beyond(label, now["horizon"], id=ident))
                continue
            pr, b = now["settle_within"][label], base["settle_within"][label]["p"]
            x = pr["p"]
            out.append(
                _card(
                    f"settlement within {label}",
                    _pct(x),
                    _note(f"± {100 * pr['se']:.1f} points (Monte Carlo s.e., preview of {sizes})", f"{ident}-se"),
                    f"without the changes: {_pct(b)} ({100 * (x - b):+.1f} points)",
                    _note(_against_full(pr, full, label, other_full), f"{ident}-vs-full"),
                    id=ident,
                    **{"data-p": repr(float(x))},  # the exact value, for tests and tools
                )
            )
        median = now["median_month"]
        shown = "after the horizon" if median is None else str(median)
        out.append(_card("median month of settlement", shown, f"months from {now['start']}", id="median-month"))
        for side in ("A", "B"):
            c = now["casualties_to_settlement"][side]
            out.append(
                _card(
                    f"casualties {now['side_names'][side]} until settlement",
                    f"{c['median']:,.0f}",
                    f"5–95%: {c['p05']:,.0f} – {c['p95']:,.0f}",
                )
            )
        return out

    def preview_outputs(
        self,
        name: str,
        lever_ids: list[dict[str, str]],
        lever_values: list[float],
        assumption_ids: list[dict[str, str]],
        assumption_values: list[float],
    ) -> tuple[Any, ...]:
        """Headline cards, a note, the settlement, terms and gap figures, and the claims table of a preview.

        When the server is busy (:class:`Busy`) only the note changes: it says "busy — … try again"
        and the figures keep the previous settings'. Bad input gives empty figures and an ``error:`` note.
        """
        try:
            levers = slider_values(lever_ids, lever_values, "levers")
            changes = slider_values(assumption_ids, assumption_values, "assumptions")
            p, source = self.service.preview_with_source(name, levers, changes)
        except Busy as e:  # the figures stay as they were; the note says why
            return no_update, f"{e}. The figures still show the previous settings.", *(no_update,) * 4
        except (CeasefireError, ValueError) as e:
            message = figures.blank(str(e))
            return [], f"error: {e}", message, message, message, []
        fan, terms, gaps, claims = self._rendered.get(p.key, lambda: self.render(name, p))[0]
        cards = self.cards(p, self.service.finished_full(name, p.levers, p.assumptions),
                           self.service.any_finished_full(name))  # fmt: skip
        changed = ", ".join(f"{k}={v:g}" for k, v in (*p.levers.items(), *p.assumptions.items())) or "none"
        origin = {CACHED: " (from the cache)", SHARED: " (shared with an identical request)"}.get(source, "")
        note = (
            f"preview: {p.summary['samples']} samples × {p.summary['paths']} paths, seed {p.summary['seed']}, the same "
            f"samples and paths with and without the changes; changes: {changed}; computed in {p.seconds:.2f} s{origin}"
        )
        return cards, note, fan, terms, gaps, claims

    def render(self, name: str, p: Preview) -> tuple[go.Figure, go.Figure, go.Figure, Any]:
        """The settlement, terms and gap figures, and the claims table of preview ``p``."""
        sc = self.catalog.load(name)
        fan = figures.settlement_fan(p.curves, p.summary["start"], p.baseline_curves, "without the changes")
        terms = figures.terms_bar(p.summary["terms_agreed"], {t.id: t.name for t in sc.terms})
        colours = {sc.leaders[s].name: figures.SIDE_COLOURS[s] for s in ("A", "B")}  # type: ignore[index]
        gaps = figures.gap_chart(p.gaps, colours) if p.gaps else figures.blank("no leader's gap recorded")
        return fan, terms, gaps, claims_table(p)

    def value_text(self, kind: str, name: str, ident: str, x: float | None) -> str:
        """The text under a slider of ``kind`` ("lever" or "assumption"): its position, and a lever's expected
        cost there (empty for an unknown slider)."""
        try:
            sc = self.catalog.load(name)
        except CeasefireError:
            return ""
        if kind == "lever":
            levers = {lv.id: lv for lv in sc.levers}
            return lever_value_text(levers[ident], x) if ident in levers else ""
        known = {a.path: a for a in assumptions(sc)}
        return assumption_value_text(known[ident], x) if ident in known else ""

    def reset_outputs(
        self, name: str, lever_ids: list[dict[str, str]], assumption_ids: list[dict[str, str]]
    ) -> tuple[list[float], list[float]]:
        """Every lever slider at 0 and every assumption slider at its neutral position (the scenario's value)."""
        try:
            neutral = {a.path: a.neutral for a in assumptions(self.catalog.load(name))}
        except CeasefireError:
            neutral = {}
        return [0.0] * len(lever_ids), [neutral.get(i.get("id", ""), 0.0) for i in assumption_ids]

    def stale_controls(self, name: str, lever_ids: list[dict[str, str]], assumption_ids: list[dict[str, str]]) -> bool:
        """Whether the sliders on the page are another scenario's (just after the scenario was changed)."""
        try:
            sc = self.catalog.load(name)
        except CeasefireError:
            return False  # an unknown name: the preview reports it
        levers, changes = control_ids(lever_ids), control_ids(assumption_ids)
        if levers is None or changes is None:
            return False  # not the page's own shape: the preview refuses it with a message
        return levers | changes != {lv.id for lv in sc.levers} | {a.path for a in assumptions(sc)}

    def start_outputs(
        self,
        name: str,
        lever_ids: list[dict[str, str]],
        lever_values: list[float],
        assumption_ids: list[dict[str, str]],
        assumption_values: list[float],
    ) -> tuple[str | None, bool, str]:
        """Start a full run: (job id, poll disabled?, status text)."""
        try:
            levers = slider_values(lever_ids, lever_values, "levers")
            changes = slider_values(assumption_ids, assumption_values, "assumptions")
            job_id = self.service.start_full(name, levers, changes)
        except (Busy, CeasefireError, ValueError) as e:
            return None, True, str(e)
        return job_id, False, "started"

    def poll_outputs(self, job_id: str | None) -> tuple[Any, ...]:
        """Progress of a full run: (progress value, max, status, poll disabled?, cards, figure, finished job id).

        The progress value counts samples over every pass of the run, so it only goes forward; the
        finished job's id (else ``no_update``) makes the preview compare itself with the run.
        """
        job = self.service.job(job_id)
        if job is None:
            return "0", "1", "", True, [], no_update, no_update
        if job.error:
            return "0", "1", f"failed: {job.error}", True, [], no_update, no_update
        if job.result is None:
            status = f"{job.stage}: {job.done}/{job.total} samples simulated"
            return str(job.done), str(max(job.total, 1)), status, False, [], no_update, no_update
        summary = job.result["summary"]
        cards = []
        for label in ("12 months", "24 months", "horizon"):
            pr = summary["settle_within"].get(label)
            if pr is None:  # a window the horizon does not reach is not estimated: said so, as in the preview's cards
                cards.append(_beyond(label, summary["horizon"]))
            else:
                cards.append(_card(f"settlement within {label}", _pct(pr["p"]), f"± {100 * pr['se']:.1f} (MC s.e.)"))
        fig = figures.settlement_fan(job.result["curves"], summary["start"])
        changed = ", ".join(f"{k}={v:g}" for k, v in (*job.levers.items(), *job.assumptions.items())) or "none"
        done = (
            f"finished: {job.spec.samples} samples × {job.spec.paths} paths in {job.seconds:.1f} s; changes: {changed}"
        )
        return str(job.total), str(job.total), done, True, cards, fig, job.id

    def _callbacks(self, app: Dash) -> None:
        lever_ids = State({"type": "lever", "id": ALL}, "id")
        assumption_ids = State({"type": "assumption", "id": ALL}, "id")
        # the settings on the page, in the order of the arguments of preview_outputs and start_outputs
        settings = (
            State("scenario", "value"),
            lever_ids,
            State({"type": "lever", "id": ALL}, "value"),
            assumption_ids,
            State({"type": "assumption", "id": ALL}, "value"),
        )

        @app.callback(Output("controls", "children"), Input("scenario", "value"), prevent_initial_call=True)
        def _controls(name: str) -> list[Any]:
            try:
                return self.controls(name)
            except (CeasefireError, ValueError) as e:
                return [html.Div(f"error: {e}")]

        def value_text(kind: str) -> Callable[..., str]:
            return lambda x, ident, name: self.value_text(kind, name, ident.get("id", ""), x)

        for kind in ("lever", "assumption"):
            app.callback(
                Output({"type": f"{kind}-value", "id": MATCH}, "children"),
                Input({"type": kind, "id": MATCH}, "value"),
                State({"type": kind, "id": MATCH}, "id"),
                State("scenario", "value"),
            )(value_text(kind))

        app.callback(
            Output({"type": "lever", "id": ALL}, "value"),
            Output({"type": "assumption", "id": ALL}, "value"),
            Input("reset", "n_clicks"),
            State("scenario", "value"),
            lever_ids,
            assumption_ids,
            prevent_initial_call=True,
        )(lambda _, *values: self.reset_outputs(*values))

        @app.callback(
            Output("headline", "children"),
            Output("preview-note", "children"),
            Output("settlement", "figure"),
            Output("terms", "figure"),
            Output("gaps", "figure"),
            Output("claims", "children"),
            Input("scenario", "value"),
            lever_ids,
            Input({"type": "lever", "id": ALL}, "value"),
            assumption_ids,
            Input({"type": "assumption", "id": ALL}, "value"),
        )
        def _preview(*values: Any) -> tuple[Any, ...]:
            name, lid, _, aid, _ = values
            if self.stale_controls(name, lid, aid):
                return (no_update,) * 6  # the sliders are being rebuilt for the new scenario; it fires again
            return self.preview_outputs(*values)

        # a full run has finished: the preview's cards now compare themselves with it
        app.callback(
            Output("headline", "children", allow_duplicate=True),
            Input("full-done", "data"),
            *settings,
            prevent_initial_call=True,
        )(lambda _, *values: self.preview_outputs(*values)[0])

        app.callback(
            Output("job", "data"),
            Output("poll", "disabled"),
            Output("full-status", "children", allow_duplicate=True),
            Input("full-run", "n_clicks"),
            *settings,
            prevent_initial_call=True,
        )(lambda _, *values: self.start_outputs(*values))

        app.callback(
            Output("full-progress", "value"),
            Output("full-progress", "max"),
            Output("full-status", "children"),
            Output("poll", "disabled", allow_duplicate=True),
            Output("full-headline", "children"),
            Output("full-settlement", "figure"),
            Output("full-done", "data"),
            Input("poll", "n_intervals"),
            State("job", "data"),
            prevent_initial_call=True,
        )(lambda _, job_id: self.poll_outputs(job_id))


def create_app(scenario: str | None = None, scenarios_dir: Path | None = None, limits: RunLimits | None = None) -> Dash:
    """The dashboard as a Dash app; ``scenario`` is shown first (a shipped name or one in ``scenarios_dir``)."""
    return Dashboard(scenario, scenarios_dir, limits).app
