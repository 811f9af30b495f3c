"""How listings reach stdout, the same for every listing command: `--format table` (the default) is a rich
table on a terminal and plain tab-separated columns with a header when stdout is a pipe or a file (no
wrapping, no box drawing, nothing cut: `sources list | cut -f1` gives whole ids); `json` is one document
(the `--json` contracts), `ndjson` one object per line, `csv` one row per record with a header. Colours
only on a terminal, and never with NO_COLOR set (https://no-color.org)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "csv", "ndjson")


@dataclass(frozen=True)
class Column:
    """One column of the table form: the record's key, its heading, and a rich style for a value."""

    key: str
    header: str = ""
    style: Callable[[Any], str] | None = None

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")


def add_format(parser: argparse.ArgumentParser, json_alias: bool = True, default: str = "table") -> None:
    """`--format` (and `--json`, the older spelling of `--format json`, kept: it is a contract)."""
    table = "table (a rich table on a terminal, tab-separated with a header line when piped)"
    parser.add_argument("--format", choices=FORMATS, default=None, metavar="{" + ",".join(FORMATS) + "}",
                        help=f"{table}, json, csv or ndjson (one JSON object a line); default: "
                             + ("table" if default == "table" else default))
    if json_alias:
        parser.add_argument("--json", dest="format", action="store_const", const="json",
                            help="the same as --format json")


def chosen(args: argparse.Namespace, default: str = "table") -> str:
    return getattr(args, "format", None) or default


def no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def is_terminal(stream: Any = None) -> bool:
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", None)) and stream.isatty()


def console(stderr: bool = False, soft_wrap: bool = False, file: TextIO | None = None) -> Console:
    """A rich console that colours only a terminal, and never under NO_COLOR."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap, no_color=no_color(), file=file)


def cell(value: Any) -> str:
    """A value as text in a column: nothing for None, JSON for structures."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _plain(value: Any) -> str:
    """One tab-separated field: tabs and line breaks inside a value would split it."""
    return " ".join(cell(value).replace("\t", " ").splitlines())


def emit(records: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[Column], title: str = "",
         document: Any = None, fields: Sequence[str] | None = None, stream: TextIO | None = None) -> None:
    """Print `records` in `fmt` to `stream` (stdout). `document` is what `json` prints when it is not the
    list of records (a contract of its own); `fields` are the csv columns when there are no records."""
    out = stream or sys.stdout
    if fmt == "json":
        print(json.dumps(list(records) if document is None else document, ensure_ascii=False, indent=2), file=out)
    elif fmt == "ndjson":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        keys = list(records[0]) if records else list(fields or [c.key for c in columns])
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(keys)
        for record in records:
            writer.writerow([cell(record.get(key)) for key in keys])
    else:
        table(records, columns, title, out)


def table(records: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str = "",
          stream: TextIO | None = None) -> None:
    """A rich table on a terminal; tab-separated columns with a header line otherwise."""
    out = stream or sys.stdout
    if not is_terminal(out):
        print("\t".join(c.title for c in columns), file=out)
        for record in records:
            print("\t".join(_plain(record.get(c.key)) for c in columns), file=out)
        return
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=title or None, title_justify="left")
    for column in columns:
        grid.add_column(column.title, overflow="fold")
    for record in records:
        grid.add_row(*(Text(cell(record.get(c.key)) or "—", style=(c.style(record.get(c.key)) if c.style else ""))
                       for c in columns))
    console(file=out).print(grid)
