"""Find the line of a key path in TOML text, for error messages.

``tomllib`` gives no positions, and ``tomlkit`` (not a dependency) keeps none either, so this
module scans the text once: it follows table headers (``[a.b]``, ``[[a.b]]`` counted per
entry), dotted and quoted keys, inline tables and arrays, and skips strings and comments.
It assumes the text is valid TOML (it is only used after ``tomllib`` accepted it) and never
raises: on anything unexpected it keeps what it found so far.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import lru_cache

Key = str | int
"""A path element: a table key, or the index of an array entry."""

MAX_PATH = 64
"""Key paths are recorded to this depth at most: messages never name deeper keys (the loader refuses
nesting beyond :data:`ceasefire.scenario.bounds.MAX_DEPTH`), and a header a million keys deep must not
cost a million prefixes of a million keys."""

# The scanner's tokens as regular expressions: the regex engine walks a long string or comment in C,
# where a loop over its characters in Python took seconds for a string of a few thousand characters.
_BARE = re.compile(r"[A-Za-z0-9_-]*")
_PLAIN = re.compile(r"[^,\]}#\n]*")
"""A number, boolean or date: up to the next separator."""
_BLANK = re.compile(r"(?:[ \t\r]+|#[^\n]*)*")
"""Spaces and comments (and, in ``_BLANK_LINES``, newlines)."""
_BLANK_LINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_LINE = re.compile(r"[^\n]*\n?")
"""The rest of a line, its newline included."""
_STRINGS = {
    '"""': re.compile(r'"""(?:[^"\\]+|\\[\s\S]?|"(?!""))*(?:"{3,})?'),
    "'''": re.compile(r"'''(?:[^']+|'(?!''))*(?:'{3,})?"),
    '"': re.compile(r'"(?:[^"\\\n]+|\\[\s\S]?)*"?'),
    "'": re.compile(r"'[^'\n]*'?"),
}
"""TOML's four kinds of string, each to its closing quote (a multi-line one with up to two quotes of
its content before the closing three), or to the end of the line (one-line) or text (multi-line)
where it is not closed."""


def locate(text: str, path: Sequence[Key]) -> int | None:
    """The 1-based line of the deepest part of ``path`` that the text spells out.

    ``path`` is a key path such as ``("leaders", "A", "reasons", "legitimacy", "low")`` or
    ``("terms", 2, "grants")`` (the third ``[[terms]]`` entry). A key inside an inline
    table maps to the line of that table; a missing key to its table's header. ``None``
    when not even the first key is in the text.
    """
    found = key_lines(text)
    parts = tuple(path)
    return next((found[parts[:k]] for k in range(len(parts), 0, -1) if parts[:k] in found), None)


@lru_cache(maxsize=8)
def key_lines(text: str) -> dict[tuple[Key, ...], int]:
    """Every key path the text defines, mapped to the line where it first appears."""
    scanner = _Scanner(text)
    try:
        scanner.document()
    except (RecursionError, ValueError, IndexError, tomllib.TOMLDecodeError):
        pass
    return scanner.found


class _Scanner:
    """A one-pass scanner over TOML text that records where each key path appears."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.found: dict[tuple[Key, ...], int] = {}
        self.arrays: dict[tuple[Key, ...], int] = {}  # array-of-tables path -> entries so far

    # -- low-level movement ------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += len(chunk)

    def skip(self, token: re.Pattern[str]) -> None:
        """Move past ``token`` where the text is (an empty match moves nowhere)."""
        match = token.match(self.s, self.i)
        assert match is not None  # every token matches the empty string
        self.advance(match.end() - self.i)

    def record(self, path: tuple[Key, ...]) -> None:
        for k in range(1, min(len(path), MAX_PATH) + 1):
            self.found.setdefault(path[:k], self.line)

    # -- grammar pieces ------------------------------------------------------------------------
    def document(self) -> None:
        table: tuple[Key, ...] = ()
        while True:
            self.skip(_BLANK_LINES)
            if not self.peek():  # the end of the text
                return
            start = self.i
            try:
                if self.peek() == "[":
                    array = self.peek(2) == "[["
                    self.advance(2 if array else 1)
                    table = self.header(self.keys(), array)
                    self.expect("]]" if array else "]")
                else:
                    keys = self.keys()
                    path = (table + tuple(keys[:MAX_PATH]))[:MAX_PATH]
                    self.record(path)
                    self.skip(_BLANK)
                    self.expect("=")
                    self.value(path)
            except ValueError:
                if self.i == start:
                    self.skip(_LINE)
                continue
            self.skip(_BLANK)
            if self.peek() not in ("", "\n"):
                self.skip(_LINE)

    def header(self, keys: list[str], array: bool) -> tuple[Key, ...]:
        """Resolve a table header to a path with array-of-tables indices filled in."""
        path: tuple[Key, ...] = ()
        keys = keys[:MAX_PATH]  # deeper parts are never located (see MAX_PATH)
        for n, key in enumerate(keys):
            path = (*path, key)
            if array and n == len(keys) - 1:
                index = self.arrays.get(path, 0)
                self.arrays[path] = index + 1
                path = (*path, index)
            elif path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        self.record(path)
        return path

    def expect(self, token: str) -> None:
        self.skip(_BLANK)
        if self.peek(len(token)) != token:
            raise ValueError(f"expected {token!r}")
        self.advance(len(token))

    def keys(self) -> list[str]:
        """A dotted key: bare or quoted parts separated by dots."""
        parts: list[str] = []
        while True:
            self.skip(_BLANK)
            start = self.i
            if self.peek() in ('"', "'"):
                self.string()
                parts.append(_decode_key(self.s[start : self.i]))
            else:
                self.skip(_BARE)
                if self.i == start:
                    raise ValueError("expected a key")
                parts.append(self.s[start : self.i])
            self.skip(_BLANK)
            if self.peek() != ".":
                return parts
            self.advance()

    def string(self) -> None:
        """Skip one string of any of TOML's four kinds."""
        q = self.peek()
        self.skip(_STRINGS[q * 3 if self.peek(3) == q * 3 else q])

    def value(self, path: tuple[Key, ...]) -> None:
        self.skip(_BLANK)
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.advance()
            index = 0
            while True:
                self.skip(_BLANK_LINES)
                if self.peek() in ("", "]"):
                    self.advance()
                    return
                self.record((*path, index))
                self.value((*path, index))
                self.skip(_BLANK_LINES)
                if self.peek() == ",":
                    self.advance()
                index += 1
        elif c == "{":
            self.advance()
            while True:
                self.skip(_BLANK)
                if self.peek() in ("", "}", "\n"):
                    self.advance()
                    return
                sub = (*path, *self.keys())[:MAX_PATH]
                self.record(sub)
                self.expect("=")
                self.value(sub)
                self.skip(_BLANK)
                if self.peek() == ",":
                    self.advance()
        else:
            start = self.i
            self.skip(_PLAIN)
            if self.i == start:
                raise ValueError("expected a value")


def _decode_key(quoted: str) -> str:
    """The text of a quoted key, escapes resolved (by tomllib itself)."""
    try:
        return str(tomllib.loads(f"k = {quoted}")["k"])
    except tomllib.TOMLDecodeError:
        return quoted.strip("\"'")
