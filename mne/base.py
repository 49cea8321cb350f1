"""What every table shares: constraint naming, UTC timestamps, enumerations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from sqlalchemy import CheckConstraint, DateTime, MetaData
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Named constraints let Alembic's batch mode alter SQLite tables and keep names stable
# across both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


# The dates people may enter (projects, periods). Far from date's limits (0001-01-01, 9999-12-31),
# where adding a due delay or a quarter overflows; roomy for any real project.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
Day = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]

# Amounts people enter (targets, values, budgets): finite, not negative, and below 10^15, so that
# sums over thousands of lines stay finite (JSON has no infinity). -0 is stored as 0.
MAX_AMOUNT = 1e15
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False), AfterValidator(lambda v: v + 0.0)]
# Whole numbers stored in an INTEGER column (PostgreSQL's is 32 bits), and ids, which are INTEGER
# columns too (PostgreSQL refuses even to compare a larger number with one): larger ones are
# refused by the schema instead of overflowing in the database.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone, so we add it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def one_of(column: str, values: type[StrEnum] | tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """A CHECK constraint that keeps an enumerated text column to its values."""
    allowed = [v.value if isinstance(v, StrEnum) else v for v in values]
    quoted = ", ".join(f"'{v}'" for v in allowed)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


class Pillar(StrEnum):
    resilience = "Resilience"
    mobility = "Mobility"
    governance = "Governance"


class Role(StrEnum):
    country_officer = "country_officer"
    regional_reviewer = "regional_reviewer"
    admin = "admin"
    donor_viewer = "donor_viewer"


class ProjectStatus(StrEnum):
    pipeline = "pipeline"
    active = "active"
    closed = "closed"


class Level(StrEnum):
    outcome = "outcome"
    output = "output"


class Measure(StrEnum):
    number = "number"
    percentage = "percentage"


class Aggregation(StrEnum):
    sum = "sum"
    latest = "latest"


class ReportingFrequency(StrEnum):
    """When a result of a line is due (SPEC §3 rev. 2); results may be entered in any period."""
    quarterly = "quarterly"
    semiannual = "semiannual"  # Q2 and Q4
    annual = "annual"  # Q4
    endline = "endline"  # the period in which the project ends


class Direction(StrEnum):
    increase = "increase"
    decrease = "decrease"


class Disaggregation(StrEnum):
    none = "none"
    sex = "sex"
    sex_age = "sex_age"


class ResultStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    returned = "returned"


class PeriodStatus(StrEnum):
    open = "open"
    closed = "closed"
