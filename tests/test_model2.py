"""Model 2 on the flagship and on toys: leaders who weigh the terms, peace that relieves pain, money as
flows, no special last month, and ceasefires that leaders may choose to break (issues 29 and 30)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ceasefire.analysis.explain import explain
from ceasefire.report.table import summary_table
from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import Summary, summarize
from ceasefire.scenario.load import load_scenario, parse_scenario, read_text

FLAGSHIP = "russia-ukraine-2026"
DATA = Path(__file__).parent / "data"


def edited(name: str, *edits: tuple[str, str]) -> object:
    """The scenario ``name`` with each ``(old, new)`` text edit made once (the old text must be there)."""
    file, text = read_text(name)
    for old, new in edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return parse_scenario(text, file)


def flagship_run(samples_of: RunResult | None = None, **levers: float) -> RunResult:
    """The flagship at a test's size; ``samples_of``: an earlier run whose samples (consistent with no deal
    at the start) to reuse."""
    sc = load_scenario(FLAGSHIP)
    spec = RunSpec.from_scenario(sc, samples=12, paths=60, horizon=60, seed=11, levers=levers)
    return run(sc, spec, samples_of=samples_of)


@pytest.fixture(scope="module")
def flagship() -> tuple[RunResult, Summary]:
    r = flagship_run()
    return r, summarize(r)


def per_sample_settled(r: RunResult, months: int | None = None) -> np.ndarray:
    o = r.outcomes
    hit = (o.first_settlement >= 0) & (o.first_settlement < (months or r.spec.horizon))
    return np.bincount(o.sample, weights=hit, minlength=r.spec.samples) / r.spec.paths


# --- leaders who weigh the terms ---------------------------------------------------------------------


def test_zelensky_neutral_gap_to_russian_demands_is_clearly_positive() -> None:
    """With every named factor neutral, fighting on is worth more than 5 months of office more to
    Ukraine's leader than Russia's full demands (his aims and his public's rejection of the terms)."""
    sc = load_scenario(FLAGSHIP)
    e = explain(sc, side="B", month=0, terms="russian-demands", seed=3, samples=3, paths=30, horizon=24)
    assert e.neutral_gap > 5.0, e.to_dict()


def test_russian_demands_are_rare_and_collapse_is_reported(flagship) -> None:  # type: ignore[no-untyped-def]
    _, s = flagship
    assert s.terms_agreed["russian-demands"] < 0.05
    assert set(s.collapse) == {t for t, share in s.terms_agreed.items() if t != "none" and share > 0}
    for sides in s.collapse.values():
        for c in sides.values():
            assert 0.0 <= c.forces <= 1.0 and 0.0 <= c.finances <= 1.0


def test_no_special_last_month(flagship) -> None:  # type: ignore[no-untyped-def]
    """First settlements in the horizon's last month are within the spread of the ten months before."""
    r, _ = flagship
    first = r.outcomes.first_settlement
    counts = np.bincount(first[first >= 0], minlength=r.spec.horizon)
    before = counts[-11:-1]
    assert counts[-1] <= before.max() + 3.0 * math.sqrt(before.mean() + 1.0), counts.tolist()


def test_equipment_aid_does_not_lower_the_chance_of_a_deal(flagship) -> None:  # type: ignore[no-untyped-def]
    """Military aid as equipment only (budget support is its own lever): the paired change in the chance
    of a settlement within the horizon is not negative beyond its noise."""
    base, _ = flagship
    aided = flagship_run(base, **{"more-military-aid": 1.0})
    diff = per_sample_settled(aided) - per_sample_settled(base)
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.mean() > -2.0 * se - 0.01, (diff.mean(), se)


def test_the_run_reports_the_chance_of_a_deal_by_each_year_end(flagship) -> None:  # type: ignore[no-untyped-def]
    r, s = flagship
    assert list(s.settle_by)[:2] == ["2026-12-31", "2027-12-31"]
    by_2026 = per_sample_settled(r, months=11).mean()
    assert s.settle_by["2026-12-31"].p == pytest.approx(by_2026)
    assert s.settle_by["2026-12-31"].p <= s.settle_by["2027-12-31"].p
    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(summary_table(s))
    assert "settlement by 2026-12-31" in console.export_text()


def test_the_range_says_whether_terms_on_the_table_lie_in_it(flagship) -> None:  # type: ignore[no-untyped-def]
    """Fearon's range exists on most paths at war; the summary says on how many of them some terms on the
    table suit both leaders (where none does, the menu, not the calculus, keeps them at war)."""
    _, s = flagship
    assert s.bargaining_range
    for m in s.bargaining_range:
        assert m.on_table is not None and 0.0 <= m.on_table <= 1.0
    assert min(m.on_table for m in s.bargaining_range) < 1.0  # the menu misses the range somewhere


def test_a_lognormal_positive_parameter_is_accepted_as_documented() -> None:
    """The validator and docs/scenario-format.md agree: a lognormal is open at 0, so it fits a strictly
    positive parameter such as ``shock_months``."""
    lognormal = 'shock_months = { dist = "lognormal", median = 12, sigma = 0.5, source = "test" }'
    sc = edited(str(DATA / "toy.toml"), ('shock_months = { value = 12, source = "test" }', lognormal))
    assert sc.leaders["A"].shock_months.support()[0] > 0.0  # type: ignore[attr-defined]
