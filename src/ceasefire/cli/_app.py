"""The Typer application and what every command shares: errors, lever options, progress bars.

Each command lives in its own module of :mod:`ceasefire.cli` and registers itself on ``app``;
commands import the library lazily so that ``ceasefire --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ceasefire.errors import CeasefireError
from ceasefire.scenario.bounds import MAX_INT

if TYPE_CHECKING:
    from ceasefire.scenario.schema import Scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="A leader's war-termination calculus, simulated under uncertainty.",
)
err = Console(stderr=True)

CoresOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        max=1024,
        help="CPU cores to use (default: all, for work big enough to gain; env CEASEFIRE_WORKERS); "
        "the numbers do not depend on it",
    ),
]
"""``--workers`` of the commands computed in worker processes of their own (``run``, ``explain``)."""


MkdirOpt = Annotated[bool, typer.Option("--mkdir", help="create the output's missing folders (else an error)")]
"""``--mkdir`` of every command that writes a file."""


def fail(message: str) -> typer.Exit:
    """Print ``message`` (plain text, never markup) as an error and return the exit (code 2) to raise.

    Never wrapped: ``FILE:LINE: KEY`` stays on one line whatever the terminal's width.
    """
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@contextmanager
def failing(*errors: type[Exception]) -> Iterator[None]:
    """Report the ``errors`` raised in the block (default: :class:`CeasefireError` and ``ValueError``,
    the user's to fix) as :func:`fail` does."""
    caught = errors or (CeasefireError, ValueError)
    try:
        yield
    except caught as e:
        raise fail(str(e)) from None


def load(scenario: str) -> Scenario:
    """The scenario ``scenario`` names (shipped, or a file); every problem in it is an error."""
    from ceasefire.scenario.load import load_scenario

    with failing(CeasefireError):
        return load_scenario(scenario)


ScenarioArg = Annotated[str, typer.Argument(help="a shipped scenario name or a path to a TOML file")]
"""The scenario argument of the commands that take one."""

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no table, no progress bar")]
"""``--quiet`` of the commands that print a table."""

SeedOpt = Annotated[int | None, typer.Option(min=0, max=MAX_INT, help="random seed (default: the scenario's)")]
"""``--seed`` of every command: non-negative and below 2^63, as scenario files require."""


def check_outputs(*targets: str | Path | None, mkdir: bool = False) -> None:
    """Check each output target before any work: a missing folder is an error unless ``mkdir`` (then it
    is created), a folder or a link loop is refused; ``-`` and ``None`` pass."""
    from ceasefire.run.store import resolve_target

    for target in targets:
        if target is None or str(target) == "-":
            continue
        try:
            resolve_target(target, parents=mkdir)
        except OSError as e:
            raise fail(f"cannot write {target}: {e.strerror or e}" + ("" if mkdir else "; or pass --mkdir")) from None


def guard_budget(check: Callable[[], None]) -> None:
    """Run a size or memory check (:mod:`ceasefire.run.budget`) before any work; its refusal is an error."""
    from ceasefire.run.budget import BudgetError

    with failing(BudgetError):
        check()


def workers_for(workers: int | None) -> int:
    """The processes a command may use: ``--workers``, else ``CEASEFIRE_WORKERS``, else every CPU."""
    import os

    if workers is not None:
        return workers
    try:
        return max(1, int(os.environ.get("CEASEFIRE_WORKERS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


def emit_json(target: str | None, document: dict[str, Any], mkdir: bool = False) -> None:
    """Write ``document`` as JSON to stdout (``-``) or to the file ``target`` (nothing if None), safely
    (:func:`ceasefire.run.store.write_atomic`: a regular file atomically, a device or a pipe in place, a
    missing folder an error unless ``mkdir``). NaN and infinity are refused rather than written as
    invalid JSON.
    """
    if target is None:
        return
    if target == "-":
        sys.stdout.write(json.dumps(document, allow_nan=False, ensure_ascii=False) + "\n")
        return
    from ceasefire.run.store import write_json

    try:
        write_json(Path(target), document, parents=mkdir)
    except OSError as e:
        raise fail(f"could not write {target}: {e.strerror or e}") from None
    err.print(f"wrote {target}", highlight=False, soft_wrap=True)


def parse_levers(items: list[str]) -> dict[str, float]:
    """``NAME`` or ``NAME=INTENSITY`` options as a mapping of lever intensities."""
    levers: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            levers[name.strip()] = float(value) if sep else 1.0
        except ValueError:
            raise fail(f"--lever {item!r}: expected NAME or NAME=INTENSITY with a number") from None
    return levers


class _Count(ProgressColumn):
    """``done/total unit``, or nothing while the total is not known yet (never ``0/None``)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{task.completed:g}/{task.total:g} {self.unit}".rstrip())


class Track:
    """Progress callbacks onto the task of a :func:`progress_task`: ``track(done, total)``, and
    ``track.staged(stage, done, total)``, which also names the stage; a ``total`` of None keeps the last."""

    def __init__(self, update: Callable[..., None]) -> None:
        self.update = update  # the bar's ``update`` of this task

    def __call__(self, done: float, total: float | None = None) -> None:
        self.update(completed=done, total=total)

    def staged(self, stage: str, done: float, total: float | None = None) -> None:
        self.update(description=stage, completed=done, total=total)


@contextmanager
def progress_task(show: bool, what: str, unit: str = "samples", total: float | None = None) -> Iterator[Track]:
    """A Rich progress bar on stderr, with elapsed time and an estimate of the time left, of one task,
    ``what``; and its :class:`Track`."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Count(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not show,
    ) as bar:
        yield Track(partial(bar.update, bar.add_task(what, total=total)))
