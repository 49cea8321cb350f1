"""Cell values that survive spreadsheets, and CSV written in chunks.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel and LibreOffice (CSV injection): such text gets a leading ``'``, which both show as
text. Numbers are written as numbers (a negative number is not text); dates and times in ISO
8601 (UTC, ``Z``); decimals with a dot whatever the reader's locale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHUNK_CHARS = 64 * 1024  # a chunk of the response: small enough to keep memory flat


def text(value: str | None) -> str:
    """Text as a spreadsheet will show it, never as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def number(value: float | int | None) -> str | int | float:
    """A number with a dot for decimals; whole numbers without ``.0`` (counts read as counts)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def timestamp(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


# Wraps an export's rows (lines, activities) as they are written: the CLI's progress bar.
Track = Callable[[Iterator], Iterator]


def untracked(items: Iterator) -> Iterator:
    return items


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[object]], *, bom: bool = True) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180: CRLF between records, quotes where needed, line breaks inside a
    quoted cell kept) as chunks of about ``CHUNK_CHARS``. Values must already be cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
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
