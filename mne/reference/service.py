"""Queries and writes over reference data."""

from __future__ import annotations

from sqlmodel import Session, select

from mne.audit import service as audit
from mne.errors import Conflict, NotFound
from mne.reference.models import Country, Donor, Period, Priority, StandardIndicator, Subregion
from mne.reference.schemas import KOSOVO, KOSOVO_FOOTNOTE, CountryRead, DonorCreate, SubregionRead


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
    period = get_period(session, code)
    if period.status != status:
        before = audit.snapshot(period)
        period.status = status
        session.add(period)
        audit.record(session, actor_id=actor_id, action=f"period.{'open' if status == 'open' else 'close'}",
                     entity="period", entity_id=code, before=before, after=audit.snapshot(period), reason=reason)
        session.flush()
    return period
