"""Scenario discovery: which boxes of assumptions lead to an outcome of interest (PRIM).

Sample the uncertain parameters (a Latin hypercube over :func:`ceasefire.run.sweep.model_factors`),
simulate every point as one sweep row (common random numbers), mark the rows where a condition on
the sweep's metrics holds (``--where "p_settle_36 < 0.5"``), and let the Patient Rule Induction
Method (Friedman & Fisher 1999, in EMA Workbench's implementation; Bryant & Lempert 2010 for its
use in scenario discovery) peel boxes around them. A box is a set of restricted parameter ranges;

* **coverage**: the share of all cases of interest that fall in the box,
* **density**: the share of the box's points that are cases of interest,
* **mass**: the share of all points in the box.

Each box is taken at the point of its peeling trajectory with the largest coverage whose density
reaches ``threshold``; further boxes are searched among the points outside earlier boxes.

The condition is parsed by a small grammar (comparisons of a metric with a number, ``and``,
``or``, ``not`` and parentheses) and evaluated on the metrics' arrays: nothing is eval-ed.
A comparison with an undefined metric (NaN, e.g. ``median_month`` when few paths settle) is false.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ceasefire.analysis.frames import Tabular, spec_fields
from ceasefire.errors import CeasefireError
from ceasefire.run.executor import Executor, executor_for
from ceasefire.run.sweep import METRICS, SweepSpec, latin_hypercube, model_factors, run_sweep
from ceasefire.scenario.schema import Scenario, iter_params

__all__ = ["Box", "Condition", "Discovery", "WhereError", "discover", "find_boxes", "parse_where", "select_dims"]

GRAMMAR = r"""
?start: expr
?expr: expr "or" term -> or_
     | term
?term: term "and" factor -> and_
     | factor
?factor: "not" factor -> not_
       | "(" expr ")"
       | NAME OP NUMBER -> compare
       | NUMBER OP NAME -> compare_reversed
OP: "<=" | ">=" | "==" | "!=" | "<" | ">"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
%ignore /[ \t]+/
"""

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

FRIENDLY = {
    "NAME": "a metric name",
    "NUMBER": "a number",
    "OP": "a comparison (<, <=, >, >=, ==, !=)",
    "LPAR": "'('",
    "RPAR": "')'",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "$END": "the end",
}


MAX_WHERE_LENGTH = 2_000
"""Longest ``--where`` condition, in characters."""
MAX_WHERE_OPERATORS = 100
"""Most ``and``, ``or``, ``not`` and ``(`` in a condition: its tree is evaluated recursively."""


class WhereError(CeasefireError):
    """A ``--where`` condition that cannot be parsed; ``column`` is 1-based. The message shows the text
    around the column (a long condition is not echoed whole)."""

    def __init__(self, text: str, column: int, problem: str) -> None:
        from ceasefire.scenario.query import excerpt

        self.text, self.column, self.problem = text, column, problem
        shown, caret = excerpt(text, column)
        super().__init__(f"--where, column {column}: {problem}\n  {shown}\n  {caret}")


@cache
def _parser() -> Any:
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


@dataclass(frozen=True)
class Condition:
    """A parsed condition on sweep metrics."""

    text: str
    tree: Any = field(repr=False)
    metrics: tuple[str, ...]

    def mask(self, table: pd.DataFrame) -> NDArray[np.bool_]:
        """Rows of ``table`` (one column per metric) where the condition holds."""
        return np.asarray(_evaluate(self.tree, table), dtype=bool)


def _evaluate(node: Any, table: pd.DataFrame) -> NDArray[np.bool_]:
    kind = node.data
    if kind == "or_":
        return _evaluate(node.children[0], table) | _evaluate(node.children[1], table)
    if kind == "and_":
        return _evaluate(node.children[0], table) & _evaluate(node.children[1], table)
    if kind == "not_":
        return ~_evaluate(node.children[0], table)
    name, op, number = node.children if kind == "compare" else node.children[::-1]
    x = table[str(name)].to_numpy(dtype=float)
    sides = (x, float(number)) if kind == "compare" else (float(number), x)
    with np.errstate(invalid="ignore"):
        return np.asarray(COMPARE[str(op)](*sides) & ~np.isnan(x), dtype=bool)


def parse_where(text: str) -> Condition:
    """Parse a condition such as ``p_settle_36 < 0.5 and casualties_B > 2e5``; names must be metrics."""
    from lark import Token
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if not text.strip():
        raise WhereError(text, 1, "empty condition: expected e.g. 'p_settle_36 < 0.5'")
    if len(text) > MAX_WHERE_LENGTH:
        raise WhereError(text, MAX_WHERE_LENGTH + 1, f"a condition is at most {MAX_WHERE_LENGTH:,} characters long")
    operators = [m for m in re.finditer(r"\b(?:and|or|not)\b|\(", text)]
    if len(operators) > MAX_WHERE_OPERATORS:
        column = operators[MAX_WHERE_OPERATORS].start() + 1
        raise WhereError(
            text, column, f"a condition has at most {MAX_WHERE_OPERATORS} of 'and', 'or', 'not' and '(' (nesting)"
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as e:
        raise WhereError(text, e.column, f"unexpected character {text[e.column - 1 : e.column]!r}") from None
    except (UnexpectedEOF, UnexpectedToken) as e:
        expected = _expected(e.expected)
        if isinstance(e, UnexpectedEOF) or e.token.type == "$END":
            raise WhereError(text, len(text) + 1, f"the condition ends early; expected {expected}") from None
        raise WhereError(text, e.column, f"unexpected {str(e.token)!r}; expected {expected}") from None
    names: list[str] = []
    for tok in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME"):
        if str(tok) not in METRICS:
            raise WhereError(text, tok.column, f"unknown metric '{tok}' (metrics: {', '.join(METRICS)})")
        names.append(str(tok))
    for tok in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "NUMBER"):
        if not math.isfinite(float(tok)):
            raise WhereError(text, tok.column, f"'{tok}' is not a finite number")
    return Condition(text=text, tree=tree, metrics=tuple(dict.fromkeys(names)))


def _expected(names: Iterable[Any]) -> str:
    words = sorted({FRIENDLY.get(str(n), str(n).lower()) for n in names})
    return " or ".join(words) if words else "something else"


# -- PRIM ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One restricted parameter of a box: its range in the box and over all points."""

    parameter: str
    source: str
    low: float
    high: float
    sampled_low: float
    sampled_high: float
    qp: float  # quasi-p-value of the restriction (the smaller of its two sides)


@dataclass(frozen=True)
class Box:
    coverage: float
    density: float
    mass: float
    cases: int  # cases of interest in the box
    points: int  # points in the box
    limits: list[Limit]


@dataclass(frozen=True)
class Discovery(Tabular):
    """The boxes of assumptions where ``where`` holds."""

    scenario: str
    where: str
    n: int
    paths: int | None
    seed: int
    threshold: float
    cases: int  # rows where the condition holds
    share: float  # cases / n
    boxes: list[Box]
    month0_share: float | None
    seconds: float
    note: str = ""
    dims: list[str] | None = None  # the parameters PRIM peeled over, best separating first


def _prim_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA Workbench warns about optional parallel back-ends at import
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def find_boxes(
    x: pd.DataFrame,
    y: NDArray[np.bool_],
    threshold: float = 0.8,
    max_boxes: int = 3,
    sources: dict[str, str] | None = None,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    significance: float | None = 0.05,
) -> list[Box]:
    """PRIM boxes around the rows where ``y`` is true, each at its best coverage with density >= ``threshold``.

    With ``significance``, restrictions whose quasi-p-value (Bryant & Lempert 2010: a one-sided
    binomial test of whether the restriction raises the density) exceeds it are then dropped, one
    at a time, least significant first; the box's statistics are those after dropping.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a density in (0, 1], got {threshold}")
    y = np.asarray(y, dtype=bool)
    if y.size != len(x):
        raise ValueError(f"{y.size} outcomes for {len(x)} points")
    if not y.any() or y.all():
        return []
    prim = _prim_module()
    x = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="ema_workbench")  # its pandas deprecations are not ours
        finder = prim.Prim(x, y.astype(int), threshold=threshold, peel_alpha=peel_alpha, mass_min=mass_min)
        return _peel_boxes(finder, x, threshold, max_boxes, sources or {}, significance)


def _peel_boxes(
    finder: Any, x: pd.DataFrame, threshold: float, max_boxes: int, sources: dict[str, str], significance: float | None
) -> list[Box]:
    init = finder.box_init
    boxes: list[Box] = []
    for _ in range(max_boxes):
        box = finder.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory
        ok = np.flatnonzero(traj["density"].to_numpy() >= threshold)
        if ok.size == 0:
            break  # EMA returned its "dump box": nothing dense enough remains
        box.select(int(ok[np.argmax(traj["coverage"].to_numpy()[ok])]))
        if significance is not None:
            _drop_insignificant(box, init, significance, threshold)
        i = box._cur_box
        lims, qp = box.box_lims[i], box.qp[i]
        limits = [
            Limit(
                parameter=str(c),
                source=sources.get(str(c), ""),
                low=float(lims.at[0, c]),
                high=float(lims.at[1, c]),
                sampled_low=float(init.at[0, c]),
                sampled_high=float(init.at[1, c]),
                qp=_quasi_p(qp, c),
            )
            for c in x.columns
            if _restricted(lims, init, c)
        ]
        if not limits:
            break
        row = box.peeling_trajectory.iloc[i]
        boxes.append(
            Box(
                coverage=float(row["coverage"]),
                density=float(row["density"]),
                mass=float(row["mass"]),
                cases=int(row["k"]),
                points=int(row["n"]),
                limits=limits,
            )
        )
    return boxes


def _restricted(lims: pd.DataFrame, init: pd.DataFrame, c: Any) -> bool:
    return bool((lims.at[0, c], lims.at[1, c]) != (init.at[0, c], init.at[1, c]))


def _quasi_p(qp: dict[Any, list[float]], c: Any) -> float:
    """The smaller quasi-p-value of a restricted parameter's restricted sides (EMA marks a free side -1)."""
    values = [v for v in qp.get(c, []) if v is not None and v >= 0]
    return float(min(values)) if values else float("nan")


def _drop_insignificant(box: Any, init: pd.DataFrame, significance: float, threshold: float) -> None:
    """Drop restrictions whose quasi-p-value exceeds ``significance``, least significant first, as long as
    the box's density stays at or above ``threshold`` (a restriction that keeps it dense stays)."""
    kept: set[Any] = set()
    for _ in range(len(init.columns)):
        i = box._cur_box
        lims, qp = box.box_lims[i], box.qp[i]
        candidates = [c for c in init.columns if _restricted(lims, init, c) and c not in kept]
        candidates = [c for c in candidates if np.nan_to_num(_quasi_p(qp, c), nan=1.0) > significance]
        if not candidates or sum(_restricted(lims, init, c) for c in init.columns) <= 1:
            return
        worst = max(candidates, key=lambda c: np.nan_to_num(_quasi_p(qp, c), nan=1.0))
        box.drop_restriction(worst)
        if box.peeling_trajectory["density"].iloc[-1] < threshold:
            box.select(i)  # dropping it dilutes the box: keep this restriction
            kept.add(worst)


def select_dims(x: pd.DataFrame, y: NDArray[np.bool_], dims: int, seed: int) -> list[str]:
    """The ``dims`` columns of ``x`` that best separate the cases of interest: extra-trees feature
    scores (Geurts et al. 2006; EMA Workbench's ``feature_scoring``), 200 trees seeded by ``seed``."""
    if dims >= x.shape[1]:
        return [str(c) for c in x.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import feature_scoring

        scores, _ = feature_scoring.get_ex_feature_scores(
            x.reset_index(drop=True), np.asarray(y, dtype=int), nr_trees=200, random_state=seed % 2**32
        )
    return [str(c) for c in scores.index[:dims]]


def discover(
    scenario: Scenario,
    where: str | Condition,
    n: int = 512,
    paths: int | None = 100,
    seed: int | None = None,
    *,
    threshold: float = 0.8,
    max_boxes: int = 3,
    dims: int | None = 6,
    horizon: int | None = None,
    policy: str | None = None,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    out: Path | str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Discovery:
    """Boxes of the scenario's uncertain parameters where the condition ``where`` holds.

    ``n`` Latin-hypercube points over the uncertain parameters (:func:`model_factors`), each
    simulated on ``paths`` common paths; ``threshold`` is the density a box must reach. PRIM peels
    over the ``dims`` parameters that best separate the cases (:func:`select_dims`; ``None`` or 0:
    all of them): over dozens of dimensions and a few hundred points it otherwise piles up
    restrictions that each shave a sliver off the sampled range.
    """
    start = time.perf_counter()
    condition = where if isinstance(where, Condition) else parse_where(where)
    spec = SweepSpec.from_scenario(
        scenario,
        paths=paths,
        seed=seed,
        horizon=horizon,
        policy=policy,
        backend=backend,
        metrics=tuple(dict.fromkeys((*condition.metrics, "deal_at_start"))),
    )
    spec.validate()
    if n < 2:
        raise ValueError(f"discovery needs at least 2 points, got n={n}")
    names = model_factors(scenario)
    design = latin_hypercube(scenario, n, spec.seed, names)
    ex = executor or executor_for(workers or spec.default_workers(), scheduler)
    table = run_sweep(scenario, design, spec, executor=ex, out=out, resume=resume, progress=progress)
    hit = condition.mask(table)
    params = dict(iter_params(scenario))
    cases = int(hit.sum())
    columns = names if not dims or cases in (0, n) else select_dims(design, hit, dims, spec.seed)
    boxes = find_boxes(design[columns], hit, threshold, max_boxes, {k: params[k].source for k in names})
    note = ""
    if cases == 0:
        note = "the condition holds at no point: there is no box to find"
    elif cases == n:
        note = "the condition holds at every point: the whole parameter space is the box"
    elif not boxes:
        note = f"no box reaches a density of {threshold:g}; lower --threshold or sample more points"
    return Discovery(
        scenario=scenario.scenario.id,
        where=condition.text,
        n=n,
        **spec_fields(spec, "paths", "seed"),
        threshold=threshold,
        cases=cases,
        share=cases / n,
        boxes=boxes,
        month0_share=float((table["deal_at_start"] > 0).mean()),
        seconds=time.perf_counter() - start,
        note=note,
        dims=columns,
    )
