"""Cell values that survive spreadsheets, and CSV written in chunks.

Each rule is written here as a SQL expression, for results.csv, which the database formats
itself so that PostgreSQL can stream it with COPY (``results.py``); and, where a file is
assembled in Python (the IPTT), as a Python function beside it. The tests hold the two to the
same output.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel and LibreOffice (CSV injection): such text gets a leading ``'``, which both show as
text (so does such text behind apostrophes of its own, so that an import reads it back). Numbers are written as numbers (a negative number is not text); dates and times in ISO
8601 (UTC, ``Z``); decimals with a dot whatever the reader's locale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import BigInteger, Text, case, cast, func, literal, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from mne.reference.schemas import KOSOVO, KOSOVO_FOOTNOTE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# Above this a float is written as it is (a whole-number test in SQL would overflow a BIGINT).
WHOLE_LIMIT = 1e15
CHUNK_CHARS = 64 * 1024  # a chunk of the response: small enough to keep memory flat


def text(value: str | None) -> str:
    """Text as a spreadsheet will show it, never as a formula."""
    if not value:
        return ""
    return "'" + value if escaped(value) else value


def escaped(value: str) -> bool:
    """Whether text gets the leading apostrophe: it starts like a formula, or it is such text
    already behind apostrophes of its own (``'=x`` is written with two), so that an import,
    removing one apostrophe where this would add one, reads back what was stored. Other text
    starting with an apostrophe (``'Safe return'``) is written as it is."""
    return value.lstrip("'").startswith(FORMULA_STARTS)


def unescaped(value: str) -> str:
    """Text as stored, from a cell that ``text`` wrote (the import's side of ``escaped``)."""
    return value[1:] if value.startswith("'") and escaped(value[1:]) else value


def number(value: float | int | None) -> str | int | float:
    """A number with a dot for decimals; whole numbers without ``.0`` (counts read as counts)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < WHOLE_LIMIT:
        return int(value)
    return value


def country_name(iso3: str, name: str) -> str:
    """A country as exports name it; Kosovo with its footnote in the cell itself, so every
    row that lists it carries it (a CSV has no place for a footnote outside its rows)."""
    return f"{name} ({KOSOVO_FOOTNOTE})" if iso3 == KOSOVO else name


# Wraps an export's rows (lines, activities) as they are written: the CLI's progress bar.
Track = Callable[[Iterator], Iterator]


def untracked(items: Iterator) -> Iterator:
    return items


# --- the same rules in SQL (PostgreSQL and SQLite alike) -------------------------------------

def country_sql(iso3, name) -> ColumnElement:
    return case((iso3 == KOSOVO, name + literal(f" ({KOSOVO_FOOTNOTE})", Text)), else_=name)


def text_sql(column) -> ColumnElement:
    """``text`` in SQL; an empty text is NULL, so that COPY and Python's csv both write nothing."""
    value = func.nullif(column, "")
    return case((func.substr(func.ltrim(value, "'"), 1, 1).in_(FORMULA_STARTS), literal("'", Text) + value),
                else_=value)




def number_sql(column) -> ColumnElement:
    """``number`` in SQL: whole numbers without ``.0``, others as the database prints a double."""
    return case((column.is_(None), null()),
                (func.abs(column) >= WHOLE_LIMIT, cast(column, Text)),
                (column == cast(column, BigInteger), cast(cast(column, BigInteger), Text)),
                else_=cast(column, Text))


class timestamp_sql(FunctionElement):
    """``timestamp`` in SQL: ISO 8601 in UTC with a ``Z``."""
    type = Text()
    inherit_cache = True
    name = "iso_utc"


@compiles(timestamp_sql, "postgresql")
def _timestamp_postgresql(element, compiler, **kw):
    return "to_char((%s) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" % compiler.process(
        element.clauses, **kw)


@compiles(timestamp_sql, "sqlite")
def _timestamp_sqlite(element, compiler, **kw):
    return "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %s)" % compiler.process(element.clauses, **kw)


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[object]], *, bom: bool = True) -> Iterator[bytes]:
    """UTF-8 CSV (quotes where needed, line breaks inside a quoted cell kept, a line feed after
    each record as PostgreSQL's COPY writes it) as chunks of about ``CHUNK_CHARS``. Values
    must already be cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if bom:
        buffer.write(BOM)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
