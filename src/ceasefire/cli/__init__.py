"""The `ceasefire` command: thin adapters that parse, load, call the library and print.

One module per command group; importing it registers its commands on :data:`app`.
"""

from ceasefire.cli import backtest, explain, levers, report, run, sweep  # noqa: F401  (each registers its commands)
from ceasefire.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    import numpy as np

    from ceasefire.run.allocator import keep_freed_memory

    keep_freed_memory()

    # NumPy's floating-point warnings are not messages for users: a non-finite number that reaches a
    # result is stopped by the numerical guard (ceasefire.run.guards), which names the month and parameter.
    with np.errstate(all="ignore"):
        app()
