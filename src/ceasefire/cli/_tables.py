"""Tables that read at 80 columns: ids are never broken, prose wraps at spaces, rows grow downwards.

Rich wraps a cell's text at spaces and folds a word longer than its column. An id folded over two
lines (``secondary-oil-sanc / tions``) cannot be searched for or pasted back, so id columns are
``no_wrap`` and keep their full width; the other columns give way, wrapping their text at spaces,
so a row takes more lines instead of a column being cut short.
"""

from __future__ import annotations

from typing import Literal

from rich import box
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right", "center"]


def narrow_table(title: str | None = None) -> Table:
    """A table with a rule under the header and one space between columns, for narrow terminals."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )


def id_column(table: Table, header: str, justify: Justify = "left") -> None:
    """A column of ids or short numbers: never wrapped (the table makes room for the longest)."""
    table.add_column(header, justify=justify, no_wrap=True)


def text_column(table: Table, header: str, justify: Justify = "left", min_width: int | None = None) -> None:
    """A column of prose or numbers that wraps at spaces when the table is too wide."""
    table.add_column(header, justify=justify, overflow="fold", min_width=min_width)


def with_id(name: str, ident: str) -> Text:
    """``name (id)``: the name wraps at spaces, the id in parentheses stays one word."""
    text = Text(name + " ")
    text.append(f"({ident})", style="dim")
    return text


def fit(table: Table, console: Console) -> Table:
    """Set the widths of ``table``'s wrapping columns so that none is narrower than its longest word.

    When the table is wider than the console, Rich narrows its wrapping columns toward equal widths,
    which folds a long word (an id quoted in a sentence) even where a fairer split would keep every
    word whole. Here each wrapping column first gets its longest word, then the room left is shared
    in proportion to what each column would still use. When even the longest words do not fit, the
    table is left to Rich. Returns ``table``.
    """
    options = console.options
    ranges = []
    for column in table.columns:
        cells = [column.header, *column.cells]
        measured = [Measurement.get(console, options, cell) for cell in cells]
        ranges.append((max(m.minimum for m in measured), max(m.maximum for m in measured)))
    overhead = table._extra_width + sum(table._get_padding_width(i) for i in range(len(table.columns)))
    room = console.width - overhead
    fixed = sum(hi for column, (_, hi) in zip(table.columns, ranges, strict=True) if column.no_wrap)
    wrapping = [i for i, column in enumerate(table.columns) if not column.no_wrap and column.width is None]
    if fixed + sum(ranges[i][1] for i in wrapping) <= room:
        return table  # it fits as it is
    spare = room - fixed - sum(ranges[i][0] for i in wrapping)
    if spare < 0:
        return table
    wants = [ranges[i][1] - ranges[i][0] for i in wrapping]
    total = sum(wants) or 1
    for i, want in zip(wrapping, wants, strict=True):
        table.columns[i].width = ranges[i][0] + min(want, spare * want // total)
    return table


def print_fitted(console: Console, *parts: RenderableType) -> None:
    """Print ``parts`` in order, each table :func:`fit` to the console first."""
    for part in parts:
        console.print(fit(part, console) if isinstance(part, Table) else part)
