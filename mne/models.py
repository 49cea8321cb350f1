"""Every table, imported in one place so Alembic and the app see the whole schema."""

from mne.audit.models import AuditEvent
from mne.base import metadata
from mne.comments.models import ResultComment
from mne.evidence.models import EvidenceFile
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.projects.models import (
    Project,
    ProjectCountry,
    ProjectDonor,
    ProjectGcm,
    ProjectMarker,
    ProjectPriority,
    ProjectSdg,
)
from mne.reference.models import (
    Country,
    Donor,
    GcmObjective,
    Marker,
    Office,
    Period,
    Priority,
    SdgTarget,
    StandardIndicator,
    Subregion,
)
from mne.imports.models import ResultImport
from mne.progress.models import LineSummary, ProjectSummary, RegionSummary
from mne.reminders.models import Notification
from mne.results.models import Result
from mne.users.models import ApiToken, LoginAttempt, User, UserCountry, UserDonor, UserSession

__all__ = [
    "ApiToken", "AuditEvent", "Country", "Donor", "EvidenceFile", "GcmObjective", "Indicator", "IndicatorTarget",
    "LineSummary", "LoginAttempt", "Marker", "Notification", "Office", "Period", "PeriodTarget", "Priority", "Project",
    "ProjectSummary", "RegionSummary",
    "ProjectCountry", "ProjectDonor", "ProjectGcm", "ProjectMarker", "ProjectPriority",
    "ProjectSdg", "Result", "ResultComment", "ResultImport", "SdgTarget", "StandardIndicator", "Subregion", "User", "UserCountry",
    "UserDonor", "UserSession", "metadata",
]

# Registers the hooks that keep the progress summaries current on every write (after the
# models above, which it imports).
from mne.progress import snapshots as _progress_snapshots  # noqa: E402,F401
