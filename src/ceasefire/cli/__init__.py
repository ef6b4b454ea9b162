"""The `ceasefire` command: thin adapters that parse, load, call the library and print.

One module per command group; importing it registers its commands on :data:`app`.
"""

from ceasefire.cli import run  # noqa: F401  (registers the commands)
from ceasefire.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
