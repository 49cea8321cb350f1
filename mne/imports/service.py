"""Imports as the API, the page and the command line run them: read, check, and (unless it is a
dry run, and only when every row is valid) write, all in the caller's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import utcnow
from mne.errors import Forbidden, Invalid, NotFound
from mne.imports import results, sheets
from mne.imports.models import ResultImport
from mne.imports.schemas import ImportCounts, ImportProblem, ImportReport

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "": ""}
STATUSES = ("checked", "imported")


@dataclass(frozen=True)
class Upload:
    content: bytes
    filename: str
    encoding: str = "auto"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int


def read(upload: Upload, limits: Limits) -> sheets.Sheet:
    if len(upload.content) > limits.max_bytes:
        raise Invalid.field("file", f"the file is {_size(len(upload.content))}, over the limit of "
                                    f"{_size(limits.max_bytes)}: split it into several files")
    return sheets.read(upload.content, filename=upload.filename, encoding=upload.encoding, max_rows=limits.max_rows)


def report(upload: Upload, outcome: results.Outcome, *, dry_run: bool, written: bool,
           import_id: int | None = None) -> ImportReport:
    sheet = outcome.sheet
    return ImportReport(
        file=upload.filename, format=sheet.format, encoding=sheet.encoding,
        delimiter=DELIMITER_NAMES[sheet.delimiter], dry_run=dry_run, written=written, rows=len(outcome.rows),
        counts=ImportCounts(**{name: outcome.count(name) for name in ImportCounts.model_fields}),
        ignored_columns=sheet.ignored,
        problems=[ImportProblem(line=p.line, column=p.column, cell=p.cell, message=p.message)
                  for p in outcome.problems],
        import_id=import_id)


def import_results(session: Session, principal: Principal, upload: Upload, limits: Limits, *, dry_run: bool,
                   progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row; unless ``dry_run``, write them all (422 listing the problems, and nothing
    written, when any row is refused). A written import is recorded with its file."""
    outcome = results.check(session, principal, read(upload, limits), progress=progress)
    if dry_run:
        return report(upload, outcome, dry_run=True, written=False)
    if not outcome.valid:
        raise results.refused(outcome)
    record = _record(session, principal, upload)
    _write(session, principal, record, outcome)
    record.report = report(upload, outcome, dry_run=False, written=True, import_id=record.id).model_dump()
    record.report["preview"] = preview(outcome)  # the import's page shows its rows, as for the page's own
    return ImportReport.model_validate(record.report)


def _record(session: Session, principal: Principal, upload: Upload, status: str = "checked") -> ResultImport:
    record = ResultImport(user_id=principal.id, filename=upload.filename[:255], size=len(upload.content),
                          sha256=hashlib.sha256(upload.content).hexdigest(), encoding=upload.encoding,
                          content=upload.content, status=status)
    session.add(record)
    session.flush()
    return record


def _write(session: Session, principal: Principal, record: ResultImport, outcome: results.Outcome) -> None:
    results.write(session, principal, outcome, reason=f"imported from {record.filename} (import {record.id})")
    record.status, record.imported_at = "imported", utcnow()


# --- the page's two steps: check a file, then confirm it ------------------------------------

def check_upload(session: Session, principal: Principal, upload: Upload, limits: Limits) -> ResultImport:
    """Keep the file and its check for the preview. A file that cannot be read is refused (422)
    and not kept."""
    outcome = results.check(session, principal, read(upload, limits))
    record = _record(session, principal, upload)
    record.report = report(upload, outcome, dry_run=True, written=False, import_id=record.id).model_dump()
    record.report["preview"] = preview(outcome)
    return record


def confirm(session: Session, principal: Principal, record: ResultImport, limits: Limits) -> ImportReport:
    """Check the kept file again against what is stored now and, if every row is still valid,
    write it. Returns the report; ``written`` says which happened."""
    # Locked, so that a second click waits and then finds it imported (PostgreSQL; SQLite has one writer).
    record = session.get(ResultImport, record.id, with_for_update=True, populate_existing=True)
    if record.status != "checked":
        raise Invalid.field("import", f"import {record.id} was already imported on {record.imported_at:%Y-%m-%d}")
    upload = Upload(record.content, record.filename, record.encoding)
    outcome = results.check(session, principal, read(upload, limits))
    written = outcome.valid
    if written:
        _write(session, principal, record, outcome)
    record.report = report(upload, outcome, dry_run=not written, written=written, import_id=record.id).model_dump()
    record.report["preview"] = preview(outcome)
    return ImportReport.model_validate(record.report)


def get_import(session: Session, principal: Principal, import_id: int) -> ResultImport:
    """One of the caller's own imports (another user's is 403: it may hold other countries' figures)."""
    record = session.get(ResultImport, import_id)
    if record is None:
        raise NotFound(f"no import with id {import_id}")
    if record.user_id != principal.id:
        raise Forbidden("this import was uploaded by someone else")
    return record


def recent_imports(session: Session, principal: Principal, limit: int = 20) -> list[ResultImport]:
    return list(session.exec(select(ResultImport).where(ResultImport.user_id == principal.id)
                             .order_by(ResultImport.created_at.desc(), ResultImport.id.desc()).limit(limit)))


PREVIEW_ROWS = 500  # rows the page lists beside every refused one (up to PREVIEW_REFUSED)
PREVIEW_REFUSED = 2000


def preview(outcome: results.Outcome) -> list[dict]:
    """The rows the page shows: every refused row first (up to a limit), then the file's first
    rows; each with what it does and why not."""
    refused = [r for r in outcome.rows if r.problems][:PREVIEW_REFUSED]
    others = [r for r in outcome.rows if not r.problems][:PREVIEW_ROWS]
    return [{"line": r.line, "project_code": r.project_code, "indicator_code": r.indicator_code,
             "country": r.country, "period": r.period, "action": r.action, "value": r.value,
             "stored_value": r.stored_value, "stored_status": r.stored_status,
             "problems": [{"column": p.column, "cell": p.cell, "message": p.message} for p in r.problems]}
            for r in sorted(refused + others, key=lambda r: r.line)]


def counts_in_words(counts: dict[str, int], rows: int) -> str:
    """'3 rows create a draft, 1 updates a result and 2 are refused.' (the counts above 0, in
    the order of what happens to the results)."""
    parts = [f"{n:,} {one if n == 1 else many}" for n, one, many in (
        (counts.get("create", 0), "creates a draft", "create a draft"),
        (counts.get("update", 0), "updates a result", "update a result"),
        (counts.get("unchanged", 0), "is unchanged", "are unchanged"),
        (counts.get("skipped", 0), "is skipped (nothing filled in)", "are skipped (nothing filled in)"),
        (counts.get("refused", 0), "is refused", "are refused")) if n]
    if not parts:
        return "The file has no rows." if not rows else f"{rows:,} rows."
    number, rest = parts[0].split(" ", 1)
    parts[0] = f"{number} {'row' if number == '1' else 'rows'} {rest}"
    return (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]) + "."


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"
