"""Project tables: the project and its tags (countries, priorities, donors, SDG, GCM, markers)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mne.base import ProjectStatus, UTCDateTime, one_of, utcnow

PROJECT_CODE_PATTERN = r"^[A-Za-z0-9._-]{3,32}$"


class Project(SQLModel, table=True):
    __tablename__ = "project"
    __table_args__ = (
        one_of("status", ProjectStatus),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("budget_usd IS NULL OR budget_usd >= 0", name="budget_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    title: str = Field(max_length=300)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    start_date: date
    end_date: date
    status: str = Field(max_length=10, default=ProjectStatus.active)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    budget_usd: float | None = None
    # Rows made by `mne seed demo`; it refuses to run over projects it did not create.
    is_demo: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProjectCountry(SQLModel, table=True):
    __tablename__ = "project_country"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    country_iso3: str = Field(foreign_key="country.iso3", primary_key=True, max_length=3, index=True)


class ProjectPriority(SQLModel, table=True):
    """Position 0 is the project's primary priority."""

    __tablename__ = "project_priority"
    __table_args__ = (UniqueConstraint("project_id", "position"),)

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    priority_code: str = Field(foreign_key="priority.code", primary_key=True, max_length=8, index=True)
    position: int = 0


class ProjectDonor(SQLModel, table=True):
    __tablename__ = "project_donor"
    __table_args__ = (
        CheckConstraint("amount_usd IS NULL OR amount_usd >= 0", name="amount_non_negative"),
    )

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    donor_code: str = Field(foreign_key="donor.code", primary_key=True, max_length=32, index=True)
    amount_usd: float | None = None


class ProjectSdg(SQLModel, table=True):
    __tablename__ = "project_sdg"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    sdg_code: str = Field(foreign_key="sdg_target.code", primary_key=True, max_length=10)


class ProjectGcm(SQLModel, table=True):
    __tablename__ = "project_gcm"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    gcm_number: int = Field(foreign_key="gcm_objective.number", primary_key=True)


class ProjectMarker(SQLModel, table=True):
    __tablename__ = "project_marker"

    project_id: int = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    marker_code: str = Field(foreign_key="marker.code", primary_key=True, max_length=32)
