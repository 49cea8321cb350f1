"""Queries and writes over reference data."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import Session, col, func, select

from mne import locks
from mne.audit import service as audit
from mne.base import EARLIEST_DATE, LATEST_DATE, Aggregation, Measure
from mne.errors import Conflict, Invalid, NotFound
from mne.indicators.models import Indicator
from mne.progress import snapshots
from mne.reference.models import Country, Donor, Period, Priority, StandardIndicator, Subregion
from mne.reference.schemas import (
    KOSOVO,
    KOSOVO_FOOTNOTE,
    CountryRead,
    DonorCreate,
    PeriodCreate,
    StandardIndicatorUpdate,
    SubregionRead,
)

DUE_AFTER_END = timedelta(days=30)
DONOR_NAME_MAX = 200


def priorities(session: Session) -> list[Priority]:
    return list(session.exec(select(Priority).order_by(Priority.position)))


def countries(session: Session) -> list[CountryRead]:
    rows = session.exec(select(Country).order_by(Country.position))
    return [
        CountryRead(iso3=c.iso3, name=c.name, subregion_code=c.subregion_code,
                    footnote=KOSOVO_FOOTNOTE if c.iso3 == KOSOVO else None)
        for c in rows
    ]


def subregions(session: Session) -> list[SubregionRead]:
    members: dict[str, list[str]] = {}
    for c in session.exec(select(Country).order_by(Country.position)):
        members.setdefault(c.subregion_code, []).append(c.iso3)
    return [
        SubregionRead(code=s.code, name=s.name, countries=members.get(s.code, []))
        for s in session.exec(select(Subregion).order_by(Subregion.position))
    ]


def periods(session: Session) -> list[Period]:
    return list(session.exec(select(Period).order_by(Period.start_date)))


def donors(session: Session) -> list[Donor]:
    return list(session.exec(select(Donor).order_by(Donor.code)))


def standard_indicators(session: Session) -> list[StandardIndicator]:
    return list(session.exec(select(StandardIndicator).order_by(StandardIndicator.code)))


def get_period(session: Session, code: str) -> Period:
    period = session.get(Period, code)
    if period is None:
        raise NotFound(f"no reporting period {code!r}", details=[{"field": "code", "message": "not found"}])
    return period


def create_donor(session: Session, data: DonorCreate, *, actor_id: int | None) -> Donor:
    if session.get(Donor, data.code) is not None:
        raise Conflict(f"donor {data.code} already exists", details=[{"field": "code", "message": "already exists"}])
    donor = Donor(code=data.code, name=data.name.strip())
    session.add(donor)
    audit.record(session, actor_id=actor_id, action="donor.create", entity="donor",
                 entity_id=donor.code, after=audit.snapshot(donor))
    session.flush()
    return donor


def set_period_status(session: Session, code: str, status: str, *, actor_id: int | None, reason: str = "") -> Period:
    # Held until commit: a second admin's close waits and then sees it closed (one event per
    # change); it waits for the saves in flight, and later saves wait for it (mne.locks).
    get_period(session, code)
    locks.period_lock(session.connection(), [code], exclusive=True)
    period = session.get(Period, code, populate_existing=True)
    if period.status != status:
        before = audit.snapshot(period)
        period.status = status
        session.add(period)
        audit.record(session, actor_id=actor_id, action=f"period.{'open' if status == 'open' else 'close'}",
                     entity="period", entity_id=code, before=before, after=audit.snapshot(period), reason=reason)
        session.flush()
    return period


# --- periods ------------------------------------------------------------------------------

def quarter_bounds(code: str) -> tuple[date, date]:
    """First and last day of the calendar quarter `YYYYQn`."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", code)
    if match is None:
        raise Invalid.field("code", "write the period as a quarter YYYYQn, e.g. 2025Q1")
    year, quarter = int(match[1]), int(match[2])
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:  # year 0 has no dates; 9999Q4's due date overflows
        raise Invalid.field("code", f"the year must be from {EARLIEST_DATE.year} to {LATEST_DATE.year}")
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
    return start, end


def next_quarter(session: Session) -> str:
    """The quarter after the latest period, to suggest when adding one."""
    latest = session.exec(select(Period).order_by(col(Period.end_date).desc())).first()
    if latest is None:
        return f"{date.today().year}Q1"
    following = latest.end_date + timedelta(days=1)
    return f"{following.year}Q{(following.month - 1) // 3 + 1}"


def create_period(session: Session, data: PeriodCreate, *, actor_id: int | None) -> Period:
    """Add a reporting period (strategies get extended). Dates default to the calendar quarter
    of the code, the due date to 30 days after the end; periods never overlap."""
    code = data.code.strip().upper()
    quarter_start, quarter_end = quarter_bounds(code)
    start = data.start_date or quarter_start
    end = data.end_date or quarter_end
    due = data.due_date or end + DUE_AFTER_END
    details = []
    if not quarter_start <= start <= quarter_end:
        details.append({"field": "start_date", "message": f"the start must fall within {code} "
                        f"({quarter_start.isoformat()} to {quarter_end.isoformat()})"})
    if not quarter_start <= end <= quarter_end:
        details.append({"field": "end_date", "message": f"the end must fall within {code} "
                        f"({quarter_start.isoformat()} to {quarter_end.isoformat()})"})
    elif end < start:
        details.append({"field": "end_date", "message": "the end must not be before the start"})
    if due < end:
        details.append({"field": "due_date", "message": "the due date must not be before the end"})
    if details:
        raise Invalid("; ".join(f"{d['field']}: {d['message']}" for d in details), details=details)
    if session.get(Period, code) is not None:
        raise Conflict(f"period {code} already exists", details=[{"field": "code", "message": "already exists"}])
    overlapping = session.exec(
        select(Period).where(Period.start_date <= end, Period.end_date >= start).order_by(Period.start_date)
    ).first()
    if overlapping is not None:
        raise Conflict(
            f"the dates overlap period {overlapping.code}",
            details=[{"field": "start_date", "message": f"the dates overlap period {overlapping.code} "
                      f"({overlapping.start_date.isoformat()} to {overlapping.end_date.isoformat()})"}],
        )
    period = Period(code=code, start_date=start, end_date=end, due_date=due, status=str(data.status))
    session.add(period)
    audit.record(session, actor_id=actor_id, action="period.create", entity="period", entity_id=code,
                 after=audit.snapshot(period))
    session.flush()
    snapshots.mark_period(session, code)  # every line gets its row for the new period
    return period


# --- donors -------------------------------------------------------------------------------

def get_donor(session: Session, code: str) -> Donor:
    donor = session.get(Donor, code)
    if donor is None:
        raise NotFound(f"no donor {code!r}", details=[{"field": "code", "message": "not found"}])
    return donor


def rename_donor(session: Session, code: str, name: str, *, actor_id: int | None) -> Donor:
    donor = get_donor(session, code)
    name = name.strip()
    if not name:
        raise Invalid.field("name", "the name must not be empty")
    if len(name) > DONOR_NAME_MAX:
        raise Invalid.field("name", f"the name must have at most {DONOR_NAME_MAX} characters")
    if name != donor.name:
        before = audit.snapshot(donor)
        donor.name = name
        session.add(donor)
        audit.record(session, actor_id=actor_id, action="donor.rename", entity="donor", entity_id=code,
                     before=before, after=audit.snapshot(donor))
        session.flush()
    return donor


# --- subregion mapping --------------------------------------------------------------------

def get_country(session: Session, iso3: str) -> Country:
    country = session.get(Country, iso3)
    if country is None:
        raise NotFound(f"no country {iso3!r}", details=[{"field": "iso3", "message": "not found"}])
    return country


def set_country_subregion(session: Session, iso3: str, subregion_code: str, *, actor_id: int | None) -> Country:
    """Move a country to another subregion: roll-ups by subregion follow at once."""
    country = get_country(session, iso3)
    if session.get(Subregion, subregion_code) is None:
        raise Invalid.field("subregion_code", f"unknown subregion {subregion_code!r}")
    if country.subregion_code != subregion_code:
        before = audit.snapshot(country)
        country.subregion_code = subregion_code
        session.add(country)
        audit.record(session, actor_id=actor_id, action="country.subregion", entity="country", entity_id=iso3,
                     before=before, after=audit.snapshot(country))
        session.flush()
    return country


# --- standard indicators ------------------------------------------------------------------

def get_standard_indicator(session: Session, code: str) -> StandardIndicator:
    indicator = session.get(StandardIndicator, code)
    if indicator is None:
        raise NotFound(f"no standard indicator {code!r}", details=[{"field": "code", "message": "not found"}])
    return indicator


def upsert_standard_indicator(
    session: Session,
    code: str,
    data: StandardIndicatorUpdate,
    *,
    priority_code: str | None = None,
    create: bool = False,
    actor_id: int | None,
) -> StandardIndicator:
    """Add a standard indicator (`create=True`, with its priority) or edit one.

    A percentage is a level, so it is always aggregated as `latest`. Once project indicators
    link to a standard indicator, its measure and aggregation stay as they are: their values
    are summed across projects under it.
    """
    if data.measure == Measure.percentage and data.aggregation != Aggregation.latest:
        raise Invalid.field("aggregation", "a percentage is a level: its aggregation is 'latest'")
    existing = session.get(StandardIndicator, code)
    if create:
        if existing is not None:
            raise Conflict(f"standard indicator {code} already exists",
                           details=[{"field": "code", "message": "already exists"}])
        if not priority_code or session.get(Priority, priority_code) is None:
            raise Invalid.field("priority_code", f"unknown priority {priority_code!r}")
        indicator = StandardIndicator(code=code, priority_code=priority_code, statement=data.statement,
                                      measure=str(data.measure), aggregation=str(data.aggregation),
                                      disaggregation=str(data.disaggregation))
        session.add(indicator)
        audit.record(session, actor_id=actor_id, action="standard_indicator.create", entity="standard_indicator",
                     entity_id=code, after=audit.snapshot(indicator))
        session.flush()
        return indicator
    if existing is None:
        raise NotFound(f"no standard indicator {code!r}", details=[{"field": "code", "message": "not found"}])
    if priority_code is not None and priority_code != existing.priority_code:
        raise Invalid.field("priority_code", "the priority of a standard indicator cannot change")
    if (data.measure, data.aggregation) != (existing.measure, existing.aggregation):
        linked = session.exec(
            select(func.count()).select_from(Indicator).where(Indicator.standard_indicator_code == code)
        ).one()
        if linked:
            field = "measure" if data.measure != existing.measure else "aggregation"
            raise Invalid.field(field, f"{linked} project indicator(s) link to {code}; "
                                "its measure and aggregation can no longer change")
    before = audit.snapshot(existing)
    existing.statement = data.statement
    existing.measure = str(data.measure)
    existing.aggregation = str(data.aggregation)
    existing.disaggregation = str(data.disaggregation)
    after = audit.snapshot(existing)
    if after != before:
        session.add(existing)
        audit.record(session, actor_id=actor_id, action="standard_indicator.update", entity="standard_indicator",
                     entity_id=code, before=before, after=after)
        session.flush()
    return existing


# --- tags offered by the project form -----------------------------------------------------

def offices(session: Session) -> list["Office"]:
    from mne.reference.models import Office

    return list(session.exec(select(Office).order_by(Office.country_iso3, Office.kind, Office.name)))


def sdg_targets(session: Session) -> list["SdgTarget"]:
    from mne.reference.models import SdgTarget

    rows = list(session.exec(select(SdgTarget)))
    return sorted(rows, key=lambda s: [(0, int(p), "") if p.isdecimal() else (1, 0, p) for p in s.code.split(".")])


def gcm_objectives(session: Session) -> list["GcmObjective"]:
    from mne.reference.models import GcmObjective

    return list(session.exec(select(GcmObjective).order_by(GcmObjective.number)))


def markers(session: Session) -> list["Marker"]:
    from mne.reference.models import Marker

    return list(session.exec(select(Marker).order_by(Marker.name)))
