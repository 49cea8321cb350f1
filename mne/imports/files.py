"""Imports run by the command line (``mne import results FILE --as EMAIL``), with a progress bar.

The same reading, checks and writing as ``POST /imports/results`` (``service.import_results``),
in the caller's write session: all rows are written, in one transaction, or none. Results are
logged by country officers, so the import always runs as one (``--as``): in that officer's
countries, and under that officer's name in the audit trail; there is no "everything" scope as
an export has.

What the command prints is the report the API answers, as lines: the counts of what the rows
do, then every problem as ``line 7, column value (E7): 'x' is not a number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from sqlmodel import Session

from mne.auth.principal import Principal
from mne.base import Role
from mne.config import get_settings
from mne.errors import Forbidden, Invalid
from mne.exports.files import principal_for
from mne.imports import service
from mne.imports.schemas import ImportReport
from mne.users import service as users


@dataclass
class Imported:
    """What the command prints, and whether it succeeded (written, or a clean dry run)."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True


def officer_for(session: Session, email: str | None) -> Principal:
    """The country officer whose scope and name the import uses (``--as``)."""
    if not email or not email.strip():
        raise Invalid.field("--as", "name the country officer whose results these are (--as EMAIL): the import "
                                    "runs in that officer's countries and under that officer's name")
    principal = principal_for(session, email)
    if principal.role != Role.country_officer:
        raise Forbidden(f"{principal.email} is a {principal.role.replace('_', ' ')}, not a country officer: "
                        "results are logged by country officers; --as must name one")
    if not users.get_user_by_email(session, email).is_active:
        raise Forbidden(f"{principal.email} is inactive: --as must name an active country officer")
    return principal


def limits() -> service.Limits:
    settings = get_settings()
    return service.Limits(max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows)


def upload_of(path: str, encoding: str, allowed: service.Limits) -> service.Upload:
    """The file as an upload; one too large is refused before it is read into memory."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > allowed.max_bytes:
            raise Invalid.field("file", f"{file.name} is {size / 1024 / 1024:.1f} MB, over the limit of "
                                        f"{allowed.max_bytes / 1024 / 1024:.1f} MB (MNE_IMPORT_MAX_BYTES): "
                                        "split it into several files")
        content = file.read_bytes()
    except OSError as exc:
        raise Invalid.field("file", f"cannot read {path}: {exc.strerror or exc}") from None
    return service.Upload(content, file.name, encoding)


def import_results(session: Session, path: str, *, user: str | None, dry_run: bool,
                   encoding: str = "auto") -> Imported:
    """Check the file's rows as ``user`` and, unless ``dry_run`` or a row is refused, write them
    all and commit. A refused write is rolled back by the caller closing the session."""
    principal = officer_for(session, user)
    allowed = limits()
    upload = upload_of(path, encoding, allowed)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal, transient=False) as bar:
        checking = bar.add_task("checking rows", total=None)
        writing = None

        def progress(done: int, total: int) -> None:
            nonlocal writing
            bar.update(checking, completed=done, total=total)
            if done == total and not dry_run:
                writing = bar.add_task("writing", total=None)

        try:
            report = service.import_results(session, principal, upload, allowed, dry_run=dry_run, progress=progress)
        except Invalid as exc:
            if writing is not None:
                bar.remove_task(writing)
            if not _refused_rows(exc):
                raise
            return Imported([*(_problem(d) for d in exc.details), f"{upload.filename}: {exc.message}"], ok=False)
        if not dry_run:
            session.commit()  # the summaries settle here, once for the whole file
            if writing is not None:
                bar.update(writing, total=1, completed=1)
    return describe(report)


def _refused_rows(exc: Invalid) -> bool:
    """Whether a refusal is of rows (each problem names its line), not of the file itself."""
    return bool(exc.details) and all(isinstance(d, dict) and "line" in d for d in exc.details)


def describe(report: ImportReport) -> Imported:
    source = report.format if report.format != "csv" else f"CSV, {report.encoding}, {report.delimiter}-separated"
    lines = [f"{report.file} ({source}): {service.counts_in_words(report.counts.model_dump(), report.rows)}"]
    if report.ignored_columns:
        lines.append(f"columns not read: {', '.join(report.ignored_columns)}")
    lines += [_problem(p.model_dump()) for p in report.problems]
    refused = report.counts.refused
    if report.written:
        lines.append(f"written: {report.counts.create + report.counts.update:,} results in one transaction "
                     f"(import {report.import_id})")
    elif refused:
        lines.append(f"dry run: {refused:,} of {report.rows:,} {_rows(report.rows)} {'is' if refused == 1 else 'are'} refused; "
                     "nothing was written")
    else:
        lines.append("dry run: nothing was written")
    return Imported(lines, ok=not refused)


def _rows(n: int) -> str:
    return "row" if n == 1 else "rows"


def _problem(problem: dict) -> str:
    where = f"line {problem['line']}"
    if problem.get("column"):
        where += f", column {problem['column']}" + (f" ({problem['cell']})" if problem.get("cell") else "")
    return f"{where}: {problem['message']}"
