"""The dashboard's callbacks answer any request with a page or an error note, never an HTTP 500, and
slider values off their grid cannot bypass the preview cache (issue 32)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasefire.web.app import Dashboard
from ceasefire.web.cache import CACHED
from ceasefire.web.limits import RunLimits

FLAGSHIP = "russia-ukraine-2026"
SMALL = RunLimits(preview_samples=4, preview_paths=10, preview_horizon=18, full_max_samples=3, full_max_paths=8,
                  max_horizon=18)  # fmt: skip
EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_EXAMPLES", "50"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
"""Any JSON a client can post (and the floats JSON cannot hold, which Dash passes on too)."""
IDS = st.one_of(
    JSON,
    st.lists(st.one_of(JSON, st.fixed_dictionaries({"type": st.just("lever"), "id": JSON})), max_size=5),
    st.lists(st.fixed_dictionaries({"type": st.just("lever"), "id": st.sampled_from(["carrot", "steady-aid"])})),
)


@pytest.fixture(scope="module")
def dashboard() -> Dashboard:
    return Dashboard(limits=SMALL)


def test_stale_controls_takes_any_ids(dashboard: Dashboard) -> None:
    for ids in (["carrot", 3], [None], "x", [{"id": 5}], [[{"id": "carrot"}]], None):
        assert dashboard.stale_controls(FLAGSHIP, ids, ids) is False  # type: ignore[arg-type]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.just(FLAGSHIP), JSON), lid=IDS, lv=JSON, aid=IDS, av=JSON, job=JSON)
def test_callbacks_answer_any_input_without_raising(
    dashboard: Dashboard, name: Any, lid: Any, lv: Any, aid: Any, av: Any, job: Any
) -> None:
    stale = dashboard.stale_controls(name, lid, aid)
    assert isinstance(stale, bool)
    out = dashboard.preview_outputs(name, lid, lv, aid, av)
    assert len(out) == 6
    assert dashboard.poll_outputs(job)[3] is True  # an unknown job: polling stops


def test_http_callbacks_with_garbage_ids_are_not_500(dashboard: Dashboard) -> None:
    client = dashboard.app.server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    preview = next(d for d in deps if d["output"].startswith("..headline.children"))
    outputs = [
        {"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in preview["output"].strip(".").split("...")
    ]
    for ids in (["not-a-dict"], [3, None], [{"no-id": 1}], [[1, 2]]):
        body = {
            "output": preview["output"],
            "outputs": outputs,
            "inputs": [
                {"id": "scenario", "property": "value", "value": FLAGSHIP},
                [{"id": {"id": "carrot", "type": "lever"}, "property": "value", "value": "x"}],
                [],
            ],
            "state": [[{"id": {"id": "carrot", "type": "lever"}, "property": "id", "value": i} for i in ids], []],
            "changedPropIds": ["scenario.value"],
        }
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert response.status_code != 500, (ids, response.data[:300])


def test_off_grid_values_share_the_grid_preview(dashboard: Dashboard) -> None:
    service = dashboard.service
    sc = service.catalog.load(FLAGSHIP)
    carrot = next(lv for lv in sc.levers if lv.id == "carrot")
    on_grid = carrot.intensity_max / 2
    first, _ = service.preview_with_source(FLAGSHIP, {"carrot": on_grid}, {})
    for off in (on_grid + 1e-9, on_grid * (1 + 1e-3), on_grid - carrot.intensity_max / 10):
        again, source = service.preview_with_source(FLAGSHIP, {"carrot": off}, {})
        assert source == CACHED and again is first, off
    optimism, _ = service.preview_with_source(FLAGSHIP, {}, {"leaders.A.optimism": 0.1})
    same, source = service.preview_with_source(FLAGSHIP, {}, {"leaders.A.optimism": 0.1000001234})
    assert source == CACHED and same is optimism


def test_input_helpers() -> None:
    from ceasefire.web.inputs import control_ids, slider_values, snap

    assert control_ids([{"id": "a"}, {"id": "b", "type": "x"}]) == {"a", "b"}
    assert control_ids(["a"]) is None and control_ids("a") is None and control_ids([{"id": 3}]) is None
    assert slider_values([{"id": "a"}, {"id": "b"}], [1.0, None], "levers") == {"a": 1.0}
    with pytest.raises(ValueError):
        slider_values([{"id": "a"}], [1.0, 2.0], "levers")
    assert snap(0.26, 0.0, 1.0, 0.25) == 0.25 and snap(0.99, 0.0, 1.0, 0.25) == 1.0
    assert snap(0.0, -0.3, 0.3, 0.05) == 0.0 and snap(0.01, -0.3, 0.3, 0.05) == 0.0  # the neutral 0, exactly
    assert snap(1.5, 0.0, 1.0, 0.25) == 1.5 and snap("x", 0.0, 1.0, 0.25) == "x"  # refused later
    assert snap(float("nan"), 0.0, 1.0, 0.25) != snap(float("nan"), 0.0, 1.0, 0.25)  # NaN stays NaN
    assert snap(0.0, -0.3, 0.3, 0.05) == 0.0 and snap(0.01, -0.3, 0.3, 0.05) == 0.0  # not 5.6e-17: no change
    assert snap(0.16, 0.0, 0.5, 0.05) == 0.15  # the number the page sends, not 0.15000000000000002


def test_preview_claims_beyond_the_preview_horizon_are_undecided(dashboard: Dashboard) -> None:
    """Previews run 18 months here: a claim about 24 months is not judged on 18 of them."""
    from ceasefire.scenario.query import parse_query

    preview = dashboard.service.preview(FLAGSHIP, {}, {})
    long = [c for c in preview.claims if (parse_query(c["query"]).quantity.months or 0) > SMALL.preview_horizon
            and parse_query(c["query"]).quantity.kind != "holds"]  # fmt: skip
    assert len(long) >= 5
    assert all(c["verdict"] in ("undecided", "not at preview") and c["estimate"] is None for c in long), long
