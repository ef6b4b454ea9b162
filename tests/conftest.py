"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (``apt-get install chromium``); the browser tests never download a browser."""

Key = str | int
"""A step into raw TOML data: a table's key or a list's index."""


def raw_path(data: Any, dotted: str) -> tuple[Key, ...]:
    """The path in raw TOML data of a dotted key path whose list entries are named by id."""
    node, path = data, []
    for seg in dotted.split("."):
        if isinstance(node, list):
            i = next(i for i, e in enumerate(node) if isinstance(e, dict) and e.get("id") == seg)
            path.append(i)
            node = node[i]
        else:
            path.append(seg)
            node = node[seg]
    return tuple(path)


DEALS = Path(__file__).parent / "data" / "ceasefire-pain.toml"
"""The scenario on which the JAX backend's decisions are compared with NumPy's: a toy war whose peace
relieves the pain, so that Model 2's leaders make deals (on about a third of the paths in two years),
break ceasefires and fall. The flagship settles on under 1% of its paths under Model 2, too few to
compare the backends' decisions."""


@pytest.fixture
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright; the test fails (not skips) when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from ceasefire.report.html import CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield b
        finally:
            b.close()


def simulate_flat(scenario, values, seeds, paths, config, levers=None, **kwargs):  # type: ignore[no-untyped-def]
    """The NumPy engine on a scenario's flat per-path parameter table (the run layer's edge, for tests)."""
    from ceasefire.model.engine import simulate_chunk
    from ceasefire.scenario.build import params_of, structure_of

    st = structure_of(scenario)
    return simulate_chunk(st, params_of(st, values), seeds, paths, config, levers, **kwargs)


def per_sample(values, samples, paths):  # type: ignore[no-untyped-def]
    """Per-path parameters ``(samples * paths,)`` as ``(samples,)`` where constant over a sample's paths,
    else ``(samples, paths)`` (what the JAX engine takes)."""
    import numpy as np

    out = {}
    for key, value in values.items():
        a = np.asarray(value, dtype=np.float64).reshape(samples, paths)
        out[key] = a[:, 0].copy() if (a == a[:, :1]).all() else a
    return out


def simulate_jax_flat(scenario, values, seeds, paths, config, levers=None, offset=0):  # type: ignore[no-untyped-def]
    """The JAX engine on a flat per-path parameter table, as :func:`simulate_flat` (JAX must be installed)."""
    from ceasefire.model.jax import engine as jax_engine
    from ceasefire.scenario.build import structure_of

    return jax_engine.simulate_blocks(
        structure_of(scenario), per_sample(values, len(seeds), paths), seeds, paths, config, levers, offset
    )
