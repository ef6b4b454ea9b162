"""Find, read and validate scenario files, turning every failure into one :class:`ScenarioError`.

A scenario is named either by a shipped name (``russia-ukraine-2026``, a file in
:data:`LIBRARY`) or by a path. Problems are reported as ``(key path, line, expected)``:
the key path is dotted, with list entries named by their ``id`` (``terms.freeze.grants``),
and the line is found in the TOML text by :mod:`ceasefire.scenario.locate`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import tomllib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from ceasefire.errors import ScenarioError
from ceasefire.scenario.bounds import MAX_DEPTH, deep_key, entry_name, scan
from ceasefire.scenario.locate import Key, key_lines, locate
from ceasefire.scenario.params import DISTRIBUTIONS, Fixed
from ceasefire.scenario.schema import Scenario

LIBRARY = Path(__file__).parent / "library"
"""Where the shipped scenarios live."""

FLAGSHIP = "russia-ukraine-2026"
"""The shipped scenario shown first where none is named (the dashboard); the others are back-tests."""

MAX_BYTES = 2 * 1024 * 1024
"""Largest scenario file accepted."""

Problem = tuple[str, int | None, str]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TAGS = frozenset({"fixed", *DISTRIBUTIONS})
_DIST_KEYS = frozenset({"low", "mode", "high", "mean", "sd", "median", "sigma", "alpha", "beta"})


# -- finding and reading ----------------------------------------------------------------------


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in LIBRARY.glob("*.toml") if p.is_file())


def _error(file: str, expected: str, line: int | None = None) -> ScenarioError:
    """A problem of the whole file (no key), at ``line`` where one is known."""
    return ScenarioError(file, [("", line, expected)])


def _shipped() -> str:
    return "shipped scenarios: " + (", ".join(list_scenarios()) or "none")


def resolve(name_or_path: str | Path) -> Path:
    """The file that a shipped scenario name or a path refers to, checked to be a regular file.

    A name without slash or suffix (``russia-ukraine-2026``) is looked up in :data:`LIBRARY`
    first; anything else is a filesystem path.
    """
    file = _clip(str(name_or_path), 200)
    if isinstance(name_or_path, str) and _NAME.match(name_or_path):
        shipped = LIBRARY / f"{name_or_path}.toml"
        try:
            if shipped.is_file():
                return shipped
            missing = not Path(name_or_path).exists()
        except OSError:  # e.g. a name longer than the file system allows
            missing = True
        if missing:
            raise _error(file, f"no shipped scenario of this name ({_shipped()})")
    path = Path(name_or_path).expanduser()
    try:
        if not path.exists():
            raise _error(file, f"file not found ({_shipped()}, or give a path to a .toml file)")
        if path.is_dir():
            raise _error(file, "is a directory; expected a scenario .toml file")
        if not path.is_file():
            raise _error(file, "is not a regular file; expected a scenario .toml file")
    except OSError as e:
        raise _error(file, f"cannot access the file: {e.strerror or e}") from None
    except ValueError as e:  # e.g. a NUL character in the path
        raise _error(file, f"not a usable file path: {e}") from None
    return path


def _read_bytes(name_or_path: str | Path) -> tuple[str, bytes]:
    """``(file name for messages, bytes)`` of a scenario, checked for size."""
    path = resolve(name_or_path)
    file = str(path) if path.parent == LIBRARY else str(name_or_path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(file, f"file is {size:,} bytes; a scenario may be at most {MAX_BYTES:,} bytes (2 MiB)")
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise _error(file, f"cannot read the file: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise _error(file, f"file is larger than {MAX_BYTES:,} bytes (2 MiB)")
    return file, data


def read_text(name_or_path: str | Path) -> tuple[str, str]:
    """``(file name for messages, text)`` of a scenario, checked for size and encoding."""
    file, data = _read_bytes(name_or_path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        expected = f"the file is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        raise _error(file, expected, data[: e.start].count(b"\n") + 1) from None
    return file, text.removeprefix("\ufeff")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Resolve, read and validate a scenario."""
    file, text = read_text(name_or_path)
    return parse_scenario(text, file)


def scenario_hash(name_or_path: str | Path) -> str:
    """SHA-256 (hex) of the scenario file's bytes."""
    return hashlib.sha256(_read_bytes(name_or_path)[1]).hexdigest()


def scenario_digest(scenario: Scenario) -> str:
    """SHA-256 (hex) of the validated scenario's canonical JSON: equal for equal scenarios, whatever
    the file's comments, layout or name. Every manifest records it as ``scenario_model_sha256``."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


# -- parsing and validating -------------------------------------------------------------------


def parse_scenario(text: str, file: str) -> Scenario:
    """Parse TOML text and validate it; every problem is reported in one :class:`ScenarioError`.

    Validation is strict: TOML has real numbers, booleans and dates, so ``"5"`` is not a
    number and ``true`` is not 1. NaN and infinities are rejected everywhere.
    """
    deep = deep_key(text)
    if deep is not None:
        line, parts, key = deep
        expected = f"a key or table header of {parts:,} parts; tables nest at most {MAX_DEPTH} deep"
        raise ScenarioError(file, [(key, line, expected)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(file, [_toml_problem(str(e), text)]) from None
    except RecursionError:
        raise _error(file, f"values are nested too deeply (at most {MAX_DEPTH})", _deepest_line(text)) from None
    except ValueError as e:  # a whole number too long for Python to convert (over 4,300 digits)
        raise ScenarioError(file, [_long_number(text, e)]) from None
    if not data:
        required = [f"[{n}]" for n, f in Scenario.model_fields.items() if f.is_required()]
        raise _error(file, "the file has no keys; a scenario needs " + ", ".join(required))
    problems: list[Problem] = [(p.shown, locate(text, p.path), p.expected) for p in scan(data)]
    if problems:
        raise ScenarioError(file, _tidy(problems))
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as e:
        raise ScenarioError(file, _tidy(_problems(e, data, text))) from None


MAX_PROBLEMS = 20
"""Problems listed in one error at most; the count of the others follows."""

MAX_SHOWN = 300
"""Characters of a key or an expectation shown at most (a key or a value may be a megabyte long)."""


def _clip(text: str, most: int = MAX_SHOWN) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _tidy(problems: list[Problem]) -> list[Problem]:
    """At most :data:`MAX_PROBLEMS` problems, each key and expectation clipped to :data:`MAX_SHOWN` characters
    (a query's excerpt keeps its own layout: it is already short)."""
    out = [(_clip(key), line, _clip(expected, 4 * MAX_SHOWN)) for key, line, expected in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        out.append(("", None, f"... and {len(problems) - MAX_PROBLEMS} more problems"))
    return out


_LONG_NUMBER = re.compile(r"[+-]?[0-9][0-9_]{4299,}")


def _long_number(text: str, error: ValueError) -> Problem:
    """The line and key of a whole number longer than Python converts (it says which limit, not where)."""
    m = _LONG_NUMBER.search(text)
    if m is None:
        return ("", None, f"a value cannot be read: {_clip(str(error))}")
    line = text.count("\n", 0, m.start()) + 1
    digits = sum(c.isdigit() for c in m.group())
    expected = f"a whole number of {digits:,} digits; whole numbers must fit in 64 bits (at most 19 digits)"
    return (_key_at_line(text, line), line, expected)


def _key_at_line(text: str, line: int) -> str:
    """The longest key path the text defines on ``line`` (dotted, list entries by index), or ``""``."""
    here = [path for path, n in key_lines(text).items() if n == line]
    return ".".join(str(k) for k in max(here, key=len)) if here else ""


def _deepest_line(text: str) -> int | None:
    """The line on which brackets or braces first nest deeper than :data:`MAX_DEPTH` (strings and comments
    are skipped roughly: this only places a message)."""
    depth, line, quote = 0, 1, ""
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
            if quote in ('"', "'"):
                quote = ""
        elif quote:
            if c == quote and text[i - 1] != "\\":
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif c in "]}":
            depth = max(depth - 1, 0)
    return None


_TOML_PLAIN = {
    "Cannot overwrite a value": "this key is already set (each key may appear only once)",
    "Cannot declare": "this table is already defined (each table may appear only once)",
    "Invalid value": 'invalid value (strings need quotes, e.g. name = "x"; numbers must not)',
    "Expected '=' after a key in a key/value pair": "expected '=' after the key",
    "Invalid statement": "invalid line; expected key = value, a [table] or an [[array]]",
}


def _toml_problem(message: str, text: str) -> Problem:
    line: int | None = None
    where = ""
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if m:
        line, where = int(m.group(1)), f" (column {m.group(2)})"
        message = message[: m.start()]
    elif message.endswith("(at end of document)"):
        line, where = text.count("\n") + 1, " (at the end of the file)"
        message = message.removesuffix("(at end of document)").rstrip()
    message = next((plain for start, plain in _TOML_PLAIN.items() if message.startswith(start)), message)
    return ("", line, "TOML syntax error: " + message[:1].lower() + message[1:] + where)


def _problems(error: ValidationError, data: dict[str, Any], text: str) -> list[Problem]:
    out: list[Problem] = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        path, shown, value = _clean(loc, data)
        expected = _expected(err, loc, value)
        if err["type"] == "value_error":
            path, shown, expected = _message_path(expected, path, data)
        elif err["type"] == "parameter" and isinstance(value, dict) and "dist" in value:
            path, shown = (*path, "dist"), f"{shown}.dist" if shown else "dist"
        problem = (shown, locate(text, path), expected)
        if problem not in out:
            out.append(problem)
    return sorted(out, key=lambda p: math.inf if p[1] is None else p[1])


def _is_tag(element: Key) -> bool:
    return isinstance(element, str) and (element in _TAGS or re.match(r"^[\w-]*\[.*\]$", element) is not None)


def _clean(loc: tuple[Key, ...], data: Any) -> tuple[tuple[Key, ...], str, Any]:
    """Drop pydantic's union tags from a location, name list entries by id.

    Returns the path for :func:`locate`, the dotted key to show, and the raw value there
    (``None`` when the key is absent).
    """
    node: Any = data
    path: list[Key] = []
    for el in loc:
        if _node(node, [el]) is None and _is_tag(el):
            continue
        path.append(el)
        node = _node(node, [el])
    return tuple(path), _show_path(path, data), node


def _message_path(message: str, path: tuple[Key, ...], data: Any) -> tuple[tuple[Key, ...], str, str]:
    """Refine the location of a validator's message that names a key path itself.

    Cross-reference checks say e.g. ``terms 'freeze': grants unknown aim 'x'`` at the top
    of the model; this turns that into ``terms.freeze.grants`` with the message after the colon.
    """
    node = _node(data, path)
    rest = message
    m = re.match(r"^(?P<keys>[A-Za-z_][\w.-]*)(?: '(?P<id>[^']*)')?: (?P<rest>.*)$", message, re.S)
    if m is None:
        # e.g. "[leaders] needs both A and B" or "'assumption' ... cannot be a key of [sources]"
        for table in re.findall(r"\[([A-Za-z_][\w.-]*)\]", message):
            found = _descend(node, table.split("."))
            if found is not None:
                path, node = (*path, *found[0]), found[1]
                names = re.findall(r"'([^']*)'", message)
                quoted = [q for q in names if isinstance(node, dict) and q in node]
                if quoted:
                    path, node = (*path, quoted[0]), node[quoted[0]]
                break
    else:
        segments = m.group("keys").split(".")
        if m.group("id") is not None:
            segments.append(m.group("id"))
        found = _descend(node, segments)
        if found is not None:
            path, node, rest = (*path, *found[0]), found[1], m.group("rest")
    if isinstance(node, list):
        dup = re.match(r"^id '([^']*)'", rest)
        if dup:
            last = [i for i, e in enumerate(node) if isinstance(e, dict) and e.get("id") == dup.group(1)]
            if last:
                path, node = (*path, last[-1], "id"), None
    dotted = re.match(r"^(?P<keys>\w[\w-]*(?:\.[\w-]+)+): (?P<rest>.*)$", rest, re.S)
    inner = _descend(node, dotted.group("keys").split("."), by_index=True) if dotted else None
    if dotted and inner is not None:  # "changes.0: ..." names a key below the entry: point at it
        return (*path, *inner[0]), _show_path((*path, *inner[0]), data), dotted.group("rest")
    word = re.match(r"^(\w+)\b", rest)
    if word and isinstance(node, dict) and word.group(1) in node:
        path = (*path, word.group(1))
    return path, _show_path(path, data), rest


def _node(data: Any, path: Sequence[Key]) -> Any:
    node = data
    for el in path:
        if isinstance(node, dict) and el in node:
            node = node[el]
        elif isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            node = node[el]
        else:
            return None
    return node


def _descend(node: Any, segments: list[str], by_index: bool = False) -> tuple[tuple[Key, ...], Any] | None:
    """Follow dotted segments through raw data, list entries named by id (``by_index``: a digit names the
    entry at that index first); None if they miss."""
    path: list[Key] = []
    for seg in segments:
        if isinstance(node, dict) and seg in node:
            path.append(seg)
            node = node[seg]
        elif isinstance(node, list):
            matches = [i for i, e in enumerate(node) if isinstance(e, dict) and e.get("id") == seg]
            if by_index and seg.isdigit() and int(seg) < len(node):
                matches = [int(seg)]
            if not matches:
                return None
            path.append(matches[0])
            node = node[matches[0]]
        else:
            return None
    return tuple(path), node


def _show_path(path: Sequence[Key], data: Any) -> str:
    node = data
    shown: list[str] = []
    for el in path:
        if isinstance(node, list) and isinstance(el, int) and 0 <= el < len(node):
            shown.append(entry_name(node[el], el))
        else:
            shown.append(str(el))
        node = _node(node, [el])
    return ".".join(shown)


# -- the 'expected' text ----------------------------------------------------------------------

_WANTED = {
    "float_type": "a number",
    "int_type": "a whole number",
    "string_type": "a string (in quotes)",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "a list [...]",
    "date_type": "a TOML date such as 2026-01-01 (no quotes)",
}
"""What a type error expected: validation is strict, so no error of parsing or converting a value arises."""


def _show(value: Any) -> str:
    """A short description of a raw TOML value, e.g. ``the string 'abc'``."""
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}" + ("..." if len(value) > 60 else "")
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "a list"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"the date/time {value.isoformat()}"
    return "nothing"


def _expected(err: Any, loc: tuple[Key, ...], value: Any) -> str:
    kind: str = err["type"]
    msg: str = err["msg"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    given = _show(err.get("input"))
    if kind == "missing":
        model, where = _model_at(loc), ".".join(str(k) for k in loc)
        if get_origin(model) is list:
            return f"missing required [[{where}]] entries"
        if get_origin(model) is dict or (_is_model(model) and model.__module__.endswith("schema")):
            return f"missing required table [{where}]"
        return "missing required key"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = list(model.model_fields) if _is_model(model) else []
        text = "unknown key" + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
        if model is Fixed and loc[-1] in _DIST_KEYS:
            text += "; for a distribution add dist = one of " + ", ".join(DISTRIBUTIONS)
        return text
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "parameter" and isinstance(value, dict) and "dist" in value:
        dists = ", ".join(DISTRIBUTIONS)
        return f"unknown distribution: expected dist to be one of {dists}, got {_show(value['dist'])}"
    if kind == "parameter":  # the schema's message (params.Param), with what was given
        return f"{msg}, got {_show(value)}"
    if kind == "literal_error":
        if loc and loc[-1] == "[key]":
            return f"unknown key; expected {ctx.get('expected', 'another key')}"
        return f"expected one of {ctx.get('expected', '?')}, got {given}"
    if kind in _WANTED:
        return f"expected {_WANTED[kind]}, got {given}"
    if kind == "string_pattern_mismatch":  # every pattern of the schema is schema.SLUG
        return (
            "expected an id of lowercase letters, digits, '-' and '_' (starting with a letter or "
            f"digit, at most 64 characters), got {given}"
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "expected a number " + msg.removeprefix("Input should be ") + f", got {given}"
    if kind == "too_short" and "min_length" in ctx:
        entries = "entry" if ctx["min_length"] == 1 else "entries"
        return f"expected at least {ctx['min_length']} {entries}, got {ctx.get('actual_length', 'fewer')}"
    if kind == "too_long" and "max_length" in ctx:
        return f"expected at most {ctx['max_length']} entries, got {ctx.get('actual_length', 'more')}"
    if msg.startswith("Input should be "):
        return "expected " + msg.removeprefix("Input should be ") + f", got {given}"
    return msg


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` wrappers from a type."""
    while True:
        members = [a for a in get_args(tp) if a is not type(None)]
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType) and len(members) == 1:
            tp = members[0]
        else:
            return tp


def _step(tp: Any, el: Key) -> Any:
    """The type found one key (or index, or union tag) below ``tp``; None if unknown."""
    tp = _unwrap(tp)
    if _is_model(tp):
        field = tp.model_fields.get(el) if isinstance(el, str) else None
        return None if field is None else field.annotation
    origin = get_origin(tp)
    if origin is list and isinstance(el, int):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    if origin in (Union, types.UnionType):
        for member in get_args(tp):
            if get_origin(member) is Annotated and any(isinstance(m, Tag) and m.tag == el for m in member.__metadata__):
                return member
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_at(loc: Sequence[Key]) -> Any:
    tp: Any = Scenario
    for el in loc:
        tp = _step(tp, el)
        if tp is None:
            return None
    return _unwrap(tp)
