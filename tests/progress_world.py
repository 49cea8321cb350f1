"""A small world for progress tests, built through the real services (and so kept current)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import Role
from mne.indicators import service as indicators
from mne.indicators.schemas import IndicatorCreate
from mne.projects import service as projects
from mne.projects.models import Project
from mne.projects.schemas import ProjectCreate
from mne.reference.models import Period
from mne.results import service as results
from mne.results.schemas import ResultWrite
from tests import factories


def principal_of(user, role: str, countries=(), donors=()) -> Principal:
    return Principal(id=user.id, email=user.email, name="", role=Role(role),
                     countries=frozenset(countries), donors=frozenset(donors))


def open_periods(session: Session, *codes: str) -> None:
    for code in codes:
        period = session.get(Period, code)
        period.status = "open"
        session.add(period)
    session.flush()


class World:
    """Who acts in a test: an officer per country and a reviewer, with their API tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reviewer_user = factories.user(session, "regional_reviewer")
        self.reviewer = principal_of(self.reviewer_user, "regional_reviewer")
        self._officers: dict[str, Principal] = {}

    def officer(self, country: str) -> Principal:
        if country not in self._officers:
            user = factories.user(self.session, "country_officer", countries=[country])
            self._officers[country] = principal_of(user, "country_officer", [country])
        return self._officers[country]

    def project(self, code: str, countries=("KGZ",), priorities=("SP1",), donors=(), start="2022-01-01",
                end="2023-12-31", markers=()):
        for d in donors:
            factories.donor(self.session, d)
        body = ProjectCreate(code=code, title=f"Project {code}", start_date=date.fromisoformat(start),
                             end_date=date.fromisoformat(end), countries=list(countries),
                             priorities=list(priorities), donors=[{"code": d, "amount_usd": 1000} for d in donors],
                             markers=list(markers))
        projects.create(self.session, self.officer(countries[0]), body)
        return self.session.exec(select(Project).where(Project.code == code)).one()

    def indicator(self, project, code: str, targets: dict[str, tuple[float, ...]], *, priority="SP1",
                  aggregation="sum", direction="increase", standard=None, period_targets=(), **fields):
        """``targets`` maps a country to (baseline, target) or (baseline, target, opening actual);
        ``fields`` are any other fields of the indicator (measure, reporting_frequency…)."""
        body = IndicatorCreate(code=code, statement=f"Indicator {code}", priority=priority, aggregation=aggregation,
                               direction=direction, standard_indicator=standard,
                               targets=[{"country": c, "baseline": t[0], "target": t[1],
                                         **({"opening_actual": t[2]} if len(t) > 2 else {})}
                                        for c, t in targets.items()],
                               period_targets=[{"country": c, "period": p, "target": t} for c, p, t in period_targets],
                               **fields)
        country = next(iter(targets))
        return indicators.create(self.session, self.officer(country), project, body).id

    def report(self, indicator_id: int, country: str, period: str, value: float | None, status: str = "approved",
               **fields) -> int:
        """A result taken through the workflow up to `status`; ``fields`` e.g. a numerator."""
        officer = self.officer(country)
        rid = results.put_result(self.session, officer, ResultWrite(
            indicator_id=indicator_id, country=country, period=period, value=value, **fields)).id
        if status in ("submitted", "approved", "returned"):
            results.submit(self.session, officer, rid)
        if status == "approved":
            results.approve(self.session, self.reviewer, rid)
        elif status == "returned":
            results.return_(self.session, self.reviewer, rid, "check the source")
        return rid


def build_spec_example(session: Session, prefix: str) -> dict:
    """SPEC §5's worked example in KGZ (`<prefix>-KGZ`), and a Serbian–Kosovo project
    (`<prefix>-WB`) with a standard indicator. Periods must be open; the caller commits."""
    world = World(session)
    kgz = world.project(f"{prefix}-KGZ", priorities=("SP1", "SP2"), donors=("ECHO",), markers=("gender",))
    i1 = world.indicator(kgz, "I1", {"KGZ": (0, 400)})
    i2 = world.indicator(kgz, "I2", {"KGZ": (40, 20)}, aggregation="latest", direction="decrease")
    world.indicator(kgz, "I3", {"KGZ": (0, 100)}, priority="SP2")
    for period, value in (("2022Q1", 50), ("2022Q2", 70), ("2022Q4", 80)):
        world.report(i1, "KGZ", period, value)
    world.report(i1, "KGZ", "2022Q3", 30, "submitted")
    world.report(i2, "KGZ", "2022Q2", 38)
    world.report(i2, "KGZ", "2022Q4", 35)
    wb = world.project(f"{prefix}-WB", countries=("SRB", "XKX"), priorities=("SP4",), donors=("USAID",),
                       start="2022-01-01", end="2022-12-31")
    s1 = world.indicator(wb, "S1", {"SRB": (0, 100), "XKX": (0, 50)}, priority="SP4", standard="SP4.1")
    world.report(s1, "SRB", "2022Q2", 60)
    world.report(s1, "XKX", "2022Q3", 55)
    world.report(s1, "XKX", "2022Q4", 5, "returned")
    return {"I1": i1, "I2": i2, "S1": s1}


def build_spec_example_2(session: Session) -> dict:
    """SPEC §5's worked example 2 (rev. 2): ARM-1 and GEO-1 under SP4, SRB-0 under SP2 with an
    opening actual. Opens the periods it reports in; the caller commits."""
    open_periods(session, "2020Q1", "2021Q2", "2022Q2", "2022Q4")
    world = World(session)
    arm = world.project("ARM-1", countries=("ARM",), priorities=("SP4",), start="2021-01-01", end="2022-12-31")
    p1 = world.indicator(arm, "P1", {"ARM": (20, 60)}, priority="SP4", measure="percentage", aggregation="latest",
                         standard="SP4.3")
    world.report(p1, "ARM", "2021Q2", None, numerator=7, denominator=20)
    world.report(p1, "ARM", "2022Q4", None, numerator=26, denominator=40)
    geo = world.project("GEO-1", countries=("GEO",), priorities=("SP4",), start="2022-01-01", end="2023-12-31")
    p2 = world.indicator(geo, "P2", {"GEO": (10, 50)}, priority="SP4", measure="percentage", aggregation="latest",
                         standard="SP4.3")
    world.report(p2, "GEO", "2022Q4", None, numerator=15, denominator=50)
    p3 = world.indicator(geo, "P3", {"GEO": (0, 200)}, priority="SP4", reporting_frequency="semiannual")
    world.report(p3, "GEO", "2022Q2", 64)
    srb = world.project("SRB-0", countries=("SRB",), priorities=("SP2",), start="2019-01-01", end="2021-12-31")
    s1 = world.indicator(srb, "S1", {"SRB": (0, 300, 120)}, priority="SP2")
    world.report(s1, "SRB", "2020Q1", 30)
    return {"P1": p1, "P2": p2, "P3": p3, "S1": s1}
