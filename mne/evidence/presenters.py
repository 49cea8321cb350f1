"""What the result page shows of its evidence files (templates/results/_evidence.html): the list,
and whether the caller may attach or remove files now, with the reason when not — the service's
own rules (`attach_refusal`, `delete_refusal`), so a button shows only where the action would work."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.evidence import content, service
from mne.evidence.schemas import EvidenceFileRead, size_in_words
from mne.forms import sentence
from mne.reference.models import Period

# The kinds by their content type, in words.
KIND_WORDS = {
    "application/pdf": "PDF",
    "image/png": "PNG image", "image/jpeg": "JPEG image", "image/gif": "GIF image", "image/webp": "WebP image",
    "image/tiff": "TIFF image", "image/heic": "HEIC image",
    "application/msword": "Word document", "application/vnd.ms-excel": "Excel workbook",
    "application/vnd.ms-powerpoint": "PowerPoint presentation",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint presentation",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
    "text/csv": "CSV", "text/plain": "Text",
}

NOTICES = {"added": "The file has been attached.", "deleted": "The file has been removed."}


def kind_in_words(content_type: str) -> str:
    return KIND_WORDS.get(content_type.split(";", 1)[0].strip(), content_type)


@dataclass
class EvidenceItem:
    file: EvidenceFileRead
    size: str
    kind: str


@dataclass
class EvidenceSection:
    result_id: int
    items: list[EvidenceItem] = field(default_factory=list)
    can_write: bool = False  # the caller logs results for this line
    attach_refusal: str = ""  # why nothing can be attached now ('' when it can)
    delete_refusal: str = ""
    error: str = ""
    notice: str = ""
    accept: str = content.ACCEPT
    accepted: str = content.ACCEPTED_IN_WORDS
    limit: str = ""

    @property
    def can_attach(self) -> bool:
        return self.can_write and not self.attach_refusal

    @property
    def can_delete(self) -> bool:
        return self.can_write and not self.delete_refusal


def section(session: Session, principal: Principal, result_id: int, country: str, period: Period, status: str, *,
            max_bytes: int, error: str = "", notice: str = "") -> EvidenceSection:
    files = service.files_for(session, [result_id]).get(result_id, [])
    attach = service.attach_refusal(period, status)
    delete = service.delete_refusal(period, status)
    return EvidenceSection(
        result_id=result_id,
        items=[EvidenceItem(f, size_in_words(f.size), kind_in_words(f.content_type)) for f in files],
        can_write=scope.can_write_line(principal, country),
        attach_refusal=sentence(attach.message) if attach else "",
        delete_refusal=sentence(delete.message) if delete else "",
        error=error, notice=NOTICES.get(notice, ""), limit=size_in_words(max_bytes),
    )
