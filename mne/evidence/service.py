"""Evidence files: the means of verification attached to results.

The API and the pages call these functions, so every rule lives here once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, select

from mne.evidence.models import EvidenceFile
from mne.evidence.schemas import EvidenceFileRead
from mne.users.models import User

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
