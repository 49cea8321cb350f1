"""Evidence files: the means of verification attached to results.

The API and the pages call these functions, so every rule lives here once:

- anyone whose scope covers a result lists and downloads its files;
- the officer who may write the line attaches files while the result is not approved and its
  period is open — also while it is submitted, so that what a reviewer asks for can be added;
- a file is removed only while the result is a draft or returned: a submitted result's files are
  what the reviewer is looking at, and an approved result's files are locked with it;
- each attach and removal is an audit event of the result (`result.file_add`, `result.file_delete`).
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func
from sqlmodel import Session, select

from mne.audit import service as audit
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import ResultStatus
from mne.errors import Conflict, Invalid, Locked, NotFound, PayloadTooLarge
from mne.evidence import content, store
from mne.evidence.models import EvidenceFile
from mne.evidence.schemas import EvidenceFileRead, size_in_words
from mne.reference.models import Period
from mne.results import service as results
from mne.results.models import Result
from mne.users.models import User

log = logging.getLogger("mne")

NAME_MAX = 255

# Ids per IN (...) list: well under SQLite's and psycopg's parameter limits.
_CHUNK = 1000


def _uploader(name: str | None, email: str | None) -> str | None:
    return (name or email) or None


def files_for(session: Session, result_ids: Iterable[int]) -> dict[int, list[EvidenceFileRead]]:
    """The files of each result, oldest first; a result without files is absent. The caller has
    already checked that the principal may read these results (a list, the review queue)."""
    ids = sorted(set(result_ids))
    out: dict[int, list[EvidenceFileRead]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(EvidenceFile, User.name, User.email)
            .outerjoin(User, User.id == EvidenceFile.uploaded_by_id)
            .where(EvidenceFile.result_id.in_(ids[start:start + _CHUNK]))
            .order_by(EvidenceFile.result_id, EvidenceFile.uploaded_at, EvidenceFile.id)
        ).all()
        for f, name, email in rows:
            out[f.result_id].append(_read(f, _uploader(name, email)))
    return dict(out)


def _read(f: EvidenceFile, uploaded_by: str | None) -> EvidenceFileRead:
    return EvidenceFileRead(id=f.id, result_id=f.result_id, name=f.name, size=f.size,
                            content_type=f.content_type, sha256=f.sha256, uploaded_by=uploaded_by,
                            uploaded_at=f.uploaded_at)


# --- words -----------------------------------------------------------------------------------

def display_name(filename: str | None) -> str:
    """The uploaded name as shown and offered on download: its last path component, without
    control or formatting characters (a right-to-left override could disguise `.exe` as `.pdf`),
    at most 255 characters with its extension kept. Never used as a path."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > NAME_MAX:
        _, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        name = name[: NAME_MAX - len(ext) - 2].rstrip() + "…" + ("." + ext if ext else "")
    return name or "file"


# --- the rules -------------------------------------------------------------------------------

def attach_refusal(period: Period, status: str) -> Conflict | None:
    """Why a file cannot be attached to a result in STATUS of PERIOD now (None: it can)."""
    if status == ResultStatus.approved:
        return Locked("the result is approved: its files are locked with it; a reviewer must reopen it "
                      "before files can be added", details=[{"field": "status", "message": "approved"}])
    return results.why_locked(period, None)  # a closed period


def delete_refusal(period: Period, status: str) -> Conflict | None:
    """Why a file of a result in STATUS of PERIOD cannot be removed now (None: it can)."""
    if status == ResultStatus.approved:
        return Locked("the file is locked with the approved result: a reviewer must reopen the result "
                      "before its files can be removed", details=[{"field": "status", "message": "approved"}])
    refusal = results.why_locked(period, None)
    if refusal is None and status == ResultStatus.submitted:
        refusal = Conflict("the result is submitted for review: its files can be removed only if a reviewer "
                           "returns it (files can still be added)",
                           details=[{"field": "status", "message": "submitted"}])
    return refusal


def _result_for_change(session: Session, principal: Principal, result_id: int) -> tuple[Result, Period]:
    """The result, read again under a row lock with its period under the period's lock: an
    approval or a period's close and this change happen one after the other, never both on
    what the other saw before."""
    result, _ = results.get_result(session, principal, result_id)
    scope.ensure_can_write_line(principal, result.country_iso3)
    period = results.locked_period(session, result.period_code)
    result = session.exec(select(Result).where(Result.id == result_id).with_for_update()
                          .execution_options(populate_existing=True)).one()
    return result, period


# --- reads -------------------------------------------------------------------------------------

def list_files(session: Session, principal: Principal, result_id: int) -> list[EvidenceFileRead]:
    results.get_result(session, principal, result_id)
    return files_for(session, [result_id]).get(result_id, [])


def get_file(session: Session, principal: Principal, file_id: int) -> EvidenceFile:
    """The file's row: 404 when there is none, 403 when its result is outside the caller's scope."""
    row = session.get(EvidenceFile, file_id)
    if row is None:
        raise NotFound(f"no file with id {file_id}")
    results.get_result(session, principal, row.result_id)
    return row


def open_file(session: Session, principal: Principal, file_id: int, files_dir: Path) -> tuple[EvidenceFile, Path]:
    """The row and the blob's path, for a download."""
    row = get_file(session, principal, file_id)
    path = store.blob_path(files_dir, row.sha256)
    if not path.is_file():
        log.error("evidence file %s: its blob %s is missing from %s", row.id, row.sha256, files_dir)
        raise NotFound(f"the content of file {file_id} is missing from the server's files folder: "
                       "an administrator must restore it from a backup")
    return row, path


# --- writes ------------------------------------------------------------------------------------

def add_file(session: Session, principal: Principal, result_id: int, source: BinaryIO, filename: str | None, *,
             files_dir: Path, max_bytes: int) -> EvidenceFileRead:
    """Attach the bytes of SOURCE to the result: checked for size and kind, stored once by hash."""
    result, period = _result_for_change(session, principal, result_id)
    refusal = attach_refusal(period, result.status)
    if refusal is not None:
        raise refusal
    limit = size_in_words(max_bytes)
    try:
        received = store.receive(source, files_dir, max_bytes)
    except store.TooLarge:
        raise PayloadTooLarge(f"file: the file is over the limit of {limit}",
                              details=[{"field": "file", "message": f"larger than the limit of {limit}"}]) from None
    try:
        try:
            content_type = content.sniff(received.path)
        except content.Refused as exc:
            raise Invalid.field("file", f"{exc}; accepted are {content.ACCEPTED_IN_WORDS}") from None
        store.blob_lock(session.connection(), received.sha256)
        store.place(files_dir, received)
        row = EvidenceFile(result_id=result.id, name=display_name(filename), size=received.size,
                           content_type=content_type, sha256=received.sha256, uploaded_by_id=principal.id)
        session.add(row)
        session.flush()
        audit.record(session, actor_id=principal.id, action="result.file_add", entity="result",
                     entity_id=result.id, after=_audited(row))
    finally:
        received.discard()  # gone already once placed
    return _read(row, principal.display_name)


def delete_file(session: Session, principal: Principal, file_id: int, *, files_dir: Path) -> None:
    """Remove the file from its result, then its blob if no other row refers to it. Commits: the
    blob goes only after the row's removal is committed, in a transaction of its own."""
    row = get_file(session, principal, file_id)
    result, period = _result_for_change(session, principal, row.result_id)
    refusal = delete_refusal(period, result.status)
    if refusal is not None:
        raise refusal
    sha256 = row.sha256
    audit.record(session, actor_id=principal.id, action="result.file_delete", entity="result",
                 entity_id=result.id, before=_audited(row))
    session.delete(row)
    session.commit()
    remove_unreferenced(session, files_dir, sha256)


def remove_unreferenced(session: Session, files_dir: Path, sha256: str) -> bool:
    """Remove the blob SHA256 when no row refers to it (under its lock: an upload of the same bytes
    either committed before, and is seen, or waits and places it anew). True when removed."""
    store.blob_lock(session.connection(), sha256)
    refs = session.exec(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.sha256 == sha256)).one()
    if refs:
        return False
    store.remove(files_dir, sha256)
    return True


def _audited(row: EvidenceFile) -> dict:
    return {"file": row.name, "file_id": row.id, "size": row.size, "content_type": row.content_type,
            "sha256": row.sha256}
