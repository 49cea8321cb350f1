"""Reference tables and their API schemas."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Column, Text
from sqlmodel import Field, SQLModel

from mne.base import Aggregation, Disaggregation, Measure, PeriodStatus, Pillar, one_of


class Priority(SQLModel, table=True):
    __tablename__ = "priority"
    __table_args__ = (one_of("pillar", Pillar),)

    code: str = Field(primary_key=True, max_length=8)
    pillar: str = Field(max_length=16)
    title: str = Field(max_length=400)
    text: str = Field(sa_column=Column(Text, nullable=False))
    position: int


class Subregion(SQLModel, table=True):
    __tablename__ = "subregion"

    code: str = Field(primary_key=True, max_length=4)
    name: str = Field(max_length=80)
    position: int


class Country(SQLModel, table=True):
    __tablename__ = "country"
    __table_args__ = (CheckConstraint("length(iso3) = 3", name="iso3_length"),)

    iso3: str = Field(primary_key=True, max_length=3)
    name: str = Field(max_length=80)
    subregion_code: str = Field(foreign_key="subregion.code", max_length=4, index=True)
    position: int


class Office(SQLModel, table=True):
    __tablename__ = "office"
    __table_args__ = (one_of("kind", ("main", "sub", "regional")),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    city: str = Field(max_length=80)
    kind: str = Field(max_length=10)
    country_iso3: str | None = Field(default=None, foreign_key="country.iso3", max_length=3)


class SdgTarget(SQLModel, table=True):
    __tablename__ = "sdg_target"
    __table_args__ = (one_of("kind", ("target", "indicator")),)

    code: str = Field(primary_key=True, max_length=10)
    kind: str = Field(max_length=10)
    title: str = Field(sa_column=Column(Text, nullable=False))


class GcmObjective(SQLModel, table=True):
    __tablename__ = "gcm_objective"
    __table_args__ = (CheckConstraint("number BETWEEN 1 AND 23", name="number_range"),)

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str = Field(max_length=300)


class Marker(SQLModel, table=True):
    __tablename__ = "marker"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=80)


class StandardIndicator(SQLModel, table=True):
    __tablename__ = "standard_indicator"
    __table_args__ = (
        one_of("measure", Measure),
        one_of("aggregation", Aggregation),
        one_of("disaggregation", Disaggregation),
    )

    code: str = Field(primary_key=True, max_length=16)
    priority_code: str = Field(foreign_key="priority.code", max_length=8, index=True)
    statement: str = Field(max_length=400)
    measure: str = Field(max_length=16)
    aggregation: str = Field(max_length=8)
    disaggregation: str = Field(max_length=8, default="none")


class Period(SQLModel, table=True):
    __tablename__ = "period"
    __table_args__ = (
        one_of("status", PeriodStatus),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("due_date >= end_date", name="due_after_end"),
    )

    code: str = Field(primary_key=True, max_length=8)
    start_date: date = Field(index=True)
    end_date: date = Field(index=True)
    due_date: date
    status: str = Field(max_length=8, default=PeriodStatus.open)


class Donor(SQLModel, table=True):
    __tablename__ = "donor"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
