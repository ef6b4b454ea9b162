"""Errors a user can act on. The CLI prints them as one message and exits with code 2."""

from __future__ import annotations


class CeasefireError(Exception):
    """Base class of errors caused by input, not by a bug."""


class ScenarioError(CeasefireError):
    """A scenario file that cannot be used.

    Parameters
    ----------
    file
        The file (or shipped scenario name) the problem is in.
    problems
        One or more ``(key_path, line, expected)`` triples: the dotted key path
        (empty for the whole file), the 1-based line where TOML gives it (else ``None``),
        and what was expected there.
    """

    def __init__(self, file: str, problems: list[tuple[str, int | None, str]]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(self.format())

    def format(self) -> str:
        lines = []
        for key, line, expected in self.problems:
            where = self.file if line is None else f"{self.file}:{line}"
            lines.append(f"{where}: {key}: {expected}" if key else f"{where}: {expected}")
        head = "invalid scenario" if len(lines) == 1 else f"invalid scenario ({len(lines)} problems)"
        return head + "\n  " + "\n  ".join(lines)
