"""The `ceasefire` command: thin adapters that parse, load, call the library and print.

One module per command group; importing it registers its commands on :data:`app`. The order and
grouping of ``ceasefire --help`` is chosen here, in :data:`HELP`, not by the order of the imports.
"""

from typer.main import get_command_name
from typer.models import CommandInfo

from ceasefire.cli import backtest, explain, levers, report, run, scenario, sweep  # noqa: F401  (each registers its commands)
from ceasefire.cli._app import app

__all__ = ["HELP", "app", "main"]

HELP: dict[str, tuple[str, str]] = {
    "run": ("Answers", "Simulate a scenario: when and on what terms the war ends."),
    "explain": ("Answers", "Why a leader does not sign: his gap split into named reasons."),
    "levers": ("Answers", "What would change it: lever effects, grids, the price of peace."),
    "claims": ("Answers", "Which of the sources' claims hold under the model."),
    "report": ("Answers", "Write one self-contained HTML report with every analysis."),
    "serve": ("Answers", "Start the local dashboard: sliders for levers and assumptions."),
    "backtest": ("Answers", "Wars that ended: where the model puts their real settlement."),
    "show": ("Scenarios", "List a scenario's sides, leaders, terms, levers, factors, claims."),
    "new": ("Scenarios", "Write a short, commented scenario template to start from."),
    "validate": ("Scenarios", "Check a scenario file and report every problem found."),
    "scenarios": ("Scenarios", "List the scenarios shipped with ceasefire."),
    "sensitivity": ("Sweeps", "Which uncertain assumptions drive an output (Sobol, Morris)."),
    "discover": ("Sweeps", "Scenario discovery (PRIM): where an outcome of interest holds."),
    "sweep": ("Sweeps", "Evaluate a table of experiments on common random numbers."),
    "version": ("Other", "Print the version."),
}
"""Each command's panel and one-line summary in ``ceasefire --help``, in the order shown."""


def _command_name(info: CommandInfo) -> str:
    """The name a command is called by (Typer's rule: the function's name, ``_`` as ``-``)."""
    return info.name or get_command_name(getattr(info.callback, "__name__", ""))


def _arrange_help() -> None:
    """Order the commands as :data:`HELP` lists them and give each its panel and short help."""
    order = list(HELP)
    app.registered_commands.sort(key=lambda info: order.index(n) if (n := _command_name(info)) in HELP else len(order))
    for info in app.registered_commands:
        panel, short = HELP.get(_command_name(info), ("Other", ""))
        info.rich_help_panel = panel
        info.short_help = short or None


_arrange_help()


def main() -> None:
    import numpy as np

    from ceasefire.run.allocator import keep_freed_memory

    keep_freed_memory()

    # NumPy's floating-point warnings are not messages for users: a non-finite number that reaches a
    # result is stopped by the numerical guard (ceasefire.run.guards), which names the month and parameter.
    with np.errstate(all="ignore"):
        app()
