"""`mne seed demo`: realistic, deterministic demo data, scalable to a million results.

Everything is drawn from ``random.Random(seed)`` in a fixed order and dated from the periods
in the database (never from today), so a seed and a scale always give the same rows. Rows are
written with SQLAlchemy Core ``executemany`` in batches, ids precomputed from ``max(id) + 1``:
the ORM's per-row unit of work would take an hour at scale 30; this takes minutes. The whole
load is one transaction, so a failure leaves nothing behind and the command can simply rerun.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from mne.audit import service as audit
from mne.demo import vocabulary as V
from mne.demo.reporting import Quarter, line_results
from mne.progress.snapshots import rebuild_all
from mne.models import (
    Country, Donor, GcmObjective, Indicator, IndicatorTarget, Marker, Office, Period, PeriodTarget,
    Priority, Project, ProjectCountry, ProjectDonor, ProjectGcm, ProjectMarker, ProjectPriority,
    ProjectSdg, Result, ResultComment, SdgTarget, StandardIndicator, User,
)

PROJECTS_PER_SCALE = 370
# Pending result rows that trigger a write; each table is sent in chunks of this size.
BATCH_ROWS = 10_000
# Parents first, so foreign keys hold at every statement.
TABLES = (Project, ProjectCountry, ProjectPriority, ProjectDonor, ProjectSdg, ProjectGcm,
          ProjectMarker, Indicator, IndicatorTarget, PeriodTarget, Result)
DURATIONS_MONTHS = (24, 36, 36, 42, 48, 48, 60, 60, 72)

WESTERN_BALKANS = ["ALB", "BIH", "XKX", "MNE", "MKD", "SRB"]
# email, role, name, countries, donors. Every country has an officer, so each result is
# submitted by someone whose scope covers it.
_ACCOUNTS = (
    ("admin@mne.example", "admin", "Demo Admin", [], []),
    ("reviewer@mne.example", "regional_reviewer", "Demo Regional Reviewer", [], []),
    ("officer.kgz@mne.example", "country_officer", "Demo Officer Kyrgyzstan", ["KGZ"], []),
    ("officer.wb@mne.example", "country_officer", "Demo Officer Western Balkans", WESTERN_BALKANS, []),
    ("officer.ukr@mne.example", "country_officer", "Demo Officer Ukraine", ["UKR"], []),
    ("donor.echo@mne.example", "donor_viewer", "Demo Donor ECHO", [], ["ECHO"]),
    ("officer.ee@mne.example", "country_officer", "Demo Officer Eastern Europe", ["BLR", "MDA", "RUS"], []),
    ("officer.sc@mne.example", "country_officer", "Demo Officer South Caucasus", ["ARM", "AZE", "GEO"], []),
    ("officer.ca@mne.example", "country_officer", "Demo Officer Central Asia",
     ["KAZ", "TJK", "TKM", "UZB"], []),
    ("officer.em@mne.example", "country_officer", "Demo Officer Eastern Mediterranean", ["TUR", "ISR"], []),
)


@dataclass
class DemoReport:
    projects: int
    indicators: int
    lines: int
    results: int
    donors: int
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (email, role, password)


class DemoRefused(Exception):
    """The database is not one the demo may fill; the message says why."""


def demo_users(seed: int = 1) -> list[tuple[str, str, str, list[str], list[str]]]:
    """The demo accounts as (email, role, password, countries, donors); passwords follow the seed."""
    rng = random.Random(seed)
    users = []
    for email, role, _name, countries, donors in _ACCOUNTS:
        first, *rest = rng.sample(V.PASSWORD_WORDS, 3)
        password = "-".join(["demo", first.capitalize(), *rest, str(rng.randint(1000, 9999))])
        users.append((email, role, password, list(countries), list(donors)))
    return users


def seed_demo(engine: Engine, *, scale: int = 1, seed: int = 1,
              progress: Callable[[int, int], None] | None = None,
              summary_progress: Callable[[int, int], None] | None = None) -> DemoReport:
    """Fill the database with demo projects, indicators and results; refuse a non-demo database.

    The progress summaries are then computed in bulk in the same transaction
    (``summary_progress`` reports lines done of all).
    """
    if scale < 1:
        raise ValueError("scale must be 1 or more")
    with engine.begin() as conn:
        # The Session joins the connection's transaction: its flushes commit with the rest.
        with Session(bind=conn) as session:
            _refuse_unless_empty(session)
            ref = _Reference(session)
            _add_donors(session)
            report_users, user_ids = _add_users(session, seed)
            session.flush()
            factory = _ProjectFactory(random.Random(seed), ref, user_ids, _next_ids(conn))
            total = PROJECTS_PER_SCALE * scale
            code_width = max(4, len(str(total)))
            pending: dict[type, list[dict]] = {t: [] for t in TABLES}
            counts = {t: 0 for t in TABLES}
            for n in range(total):
                factory.project(n + 1, code_width, pending)
                if len(pending[Result]) >= BATCH_ROWS or n + 1 == total:
                    _write(conn, pending, counts)
                    if progress:
                        progress(n + 1, total)
            _sync_sequences(conn)
            counts[ResultComment] = _add_conversations(conn, seed)
            audit.record(session, actor_id=None, action="seed.demo", entity="database",
                         entity_id=f"seed={seed},scale={scale}",
                         after={t.__tablename__: c for t, c in counts.items()})
            session.flush()
            rebuild_all(conn, progress=summary_progress)
    return DemoReport(projects=counts[Project], indicators=counts[Indicator],
                      lines=counts[IndicatorTarget], results=counts[Result], donors=len(V.DONORS),
                      users=report_users)


def _refuse_unless_empty(session: Session) -> None:
    # Demo rows mixed with real ones could never be told apart in reports; refuse both cases.
    if session.exec(select(Project.id).where(Project.is_demo.is_(False)).limit(1)).first() is not None:
        raise DemoRefused("the database holds projects the demo did not create; "
                          "load demo data only into a fresh database")
    if session.exec(select(Project.id).where(Project.is_demo.is_(True)).limit(1)).first() is not None:
        raise DemoRefused("demo data is already loaded")


class _Reference:
    """The reference rows the generator draws from, in a stable order (determinism)."""

    def __init__(self, session: Session) -> None:
        periods = session.exec(select(Period).order_by(Period.start_date)).all()
        if not periods:
            raise DemoRefused("no reporting periods: run `mne seed reference` first")
        self.quarters = [Quarter(i, p.code, p.start_date, p.end_date, p.due_date)
                         for i, p in enumerate(periods)]
        countries = session.exec(select(Country).order_by(Country.position)).all()
        self.countries = {c.iso3: (c.name, c.subregion_code) for c in countries}
        self.offices: dict[str, list[tuple[int, str]]] = {}
        for o in session.exec(select(Office).order_by(Office.id)):
            if o.country_iso3:
                self.offices.setdefault(o.country_iso3, []).append((o.id, o.kind))
        self.priorities = session.exec(select(Priority.code).order_by(Priority.position)).all()
        self.standards: dict[str, list[StandardIndicator]] = {}
        for s in session.exec(select(StandardIndicator).order_by(StandardIndicator.code)):
            self.standards.setdefault(s.priority_code, []).append(s)
        self.sdgs = set(session.exec(select(SdgTarget.code)))
        self.gcms = set(session.exec(select(GcmObjective.number)))
        self.markers = sorted(session.exec(select(Marker.code)))
        if not (self.countries and self.priorities):
            raise DemoRefused("reference data is missing: run `mne seed reference` first")


def _add_donors(session: Session) -> None:
    have = set(session.exec(select(Donor.code)))
    session.add_all(Donor(code=code, name=name) for code, name, _w, _where in V.DONORS if code not in have)
    session.flush()


def _add_users(session: Session, seed: int) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """Create the demo accounts (an account left by an earlier run is reused as it is)."""
    from mne.users.service import create_user

    names = {email: name for email, _r, name, _c, _d in _ACCOUNTS}
    report, ids = [], {}
    for email, role, password, countries, donors in demo_users(seed):
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = create_user(session, email=email, password=password, role=role, name=names[email],
                               countries=countries, donors=donors, is_demo=True)
        elif not user.is_demo:
            password = "(existing account, password unchanged)"
        report.append((email, role, password))
        ids[email] = user.id
    return report, ids


def _next_ids(conn: Connection) -> dict[type, int]:
    return {t: (conn.execute(select(func.max(t.id))).scalar() or 0) + 1 for t in (Project, Indicator, Result)}


def _write(conn: Connection, pending: dict[type, list[dict]], counts: dict[type, int]) -> None:
    for table in TABLES:
        rows = pending[table]
        for start in range(0, len(rows), BATCH_ROWS):
            conn.execute(insert(table.__table__), rows[start:start + BATCH_ROWS])
        counts[table] += len(rows)
        rows.clear()


def _add_conversations(conn: Connection, seed: int) -> int:
    """The conversation on the results that were returned, as the app would have kept it: each
    return's note opens a round (by its reviewer, at the return), and some officers answered. A
    result returned once and sent again shows the note and the officer's correction. Drawn from a
    stream of its own, so the results above are the same with or without it."""
    rng = random.Random(f"conversations-{seed}")
    rows = conn.execute(
        select(Result.id, Result.status, Result.review_note, Result.reviewed_by_id, Result.reviewed_at,
               Result.submitted_by_id, Result.submitted_at)
        .where((Result.status == "returned") | ((Result.status == "submitted") & (Result.version > 1)))
        .order_by(Result.id)).all()
    comments: list[dict] = []

    def say(result_id: int, kind: str, text: str, author: int, at: datetime) -> None:
        comments.append({"result_id": result_id, "kind": kind, "text": text, "author_id": author, "created_at": at})

    for rid, status, note, reviewer, reviewed_at, officer, submitted_at in rows:
        if status == "returned":
            say(rid, "returned", note, reviewer, reviewed_at)
            if rng.random() < 0.45:
                replied = reviewed_at + timedelta(hours=rng.randint(2, 70))
                say(rid, "comment", V.REVIEW_REPLIES[note][1], officer, replied)
                if rng.random() < 0.4:
                    say(rid, "comment", rng.choice(V.REVIEWER_FOLLOW_UPS), reviewer,
                        replied + timedelta(hours=rng.randint(1, 30)))
        else:  # returned once, corrected, and submitted again (the demo keeps no earlier note)
            note = rng.choice(V.REVIEW_NOTES)
            say(rid, "returned", note, reviewer, reviewed_at)
            say(rid, "comment", V.REVIEW_REPLIES[note][0], officer,
                max(reviewed_at, submitted_at - timedelta(minutes=rng.randint(1, 20))))
    for start in range(0, len(comments), BATCH_ROWS):
        conn.execute(insert(ResultComment.__table__), comments[start:start + BATCH_ROWS])
    return len(comments)


def _sync_sequences(conn: Connection) -> None:
    # Explicit ids do not advance PostgreSQL sequences; without this the app's next insert fails.
    if conn.dialect.name != "postgresql":
        return
    for table in ("project", "indicator", "result"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))


@dataclass
class _Plan:
    """What the indicators of one project share."""

    pid: int
    countries: list[str]
    priorities: list[str]
    start: date
    end: date
    # A project that began before the first period has no results before it, so its targets
    # are spread over the quarters from there (life_quarters), not from its start.
    plan_start: date
    quarters: list[Quarter]  # the periods in the database the project overlaps
    life_quarters: int
    before_share: float  # the share of the project's life before the first period
    late_rate: float
    created: datetime
    standards_used: set[str] = field(default_factory=set)  # each linked once per project


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, 1)


def _nice(x: float) -> int:
    """Round to two significant digits, as planners write targets (1,234 -> 1,200)."""
    if x < 100:
        return max(1, round(x))
    digits = len(str(int(x))) - 2
    return round(x / 10**digits) * 10**digits


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class _ProjectFactory:
    """Draws one project after another with all its rows, from one random stream."""

    def __init__(self, rng: random.Random, ref: _Reference, user_ids: dict[str, int],
                 next_ids: dict[type, int]) -> None:
        self.rng, self.ref, self.ids = rng, ref, next_ids
        self.country_codes = list(ref.countries)
        self.country_weights = [V.COUNTRY_WEIGHTS.get(c, 3) for c in self.country_codes]
        self.priority_weights = [V.PRIORITY_WEIGHTS.get(p, 20) for p in ref.priorities]
        self.officer = {iso3: user_ids[email] for email, role, _n, countries, _d in _ACCOUNTS
                        if role == "country_officer" for iso3 in countries}
        self.approvers = (user_ids["reviewer@mne.example"], user_ids["admin@mne.example"])
        # The demo's "today": the due date of the last period, so every period has been reported.
        self.today = ref.quarters[-1].due
        # Each priority's portfolio in each subregion delivers more or less well: standings
        # evenly spread from weakest (0) to strongest (1), shuffled by the seed, so the
        # priority x subregion matrix shows strong and weak cells whatever the seed.
        subregions = sorted({s for _name, s in ref.countries.values() if s})
        cells = [(p, s) for p in ref.priorities for s in subregions]
        ladder = [(i + 0.5) / len(cells) for i in range(len(cells))]
        rng.shuffle(ladder)
        self.standing = dict(zip(cells, ladder, strict=True))

    def _take(self, table: type) -> int:
        self.ids[table] += 1
        return self.ids[table] - 1

    def project(self, seq: int, width: int, out: dict[type, list[dict]]) -> None:
        rng, ref = self.rng, self.ref
        pid = self._take(Project)
        countries = self._countries()
        priorities = self._priorities()
        start, end = self._dates()
        lead = countries[0]
        names = [ref.countries[c][0] for c in countries]
        place = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        title = rng.choice(V.TITLES.get(priorities[0], V.GENERIC_TITLES)).format(place=place)
        title += rng.choice(V.PHASES)
        summary = " ".join(s.format(place=place) for s in rng.sample(V.SUMMARIES, 2))
        area = 10 * (ref.priorities.index(priorities[0]) + 1) + rng.randint(0, 4)
        created = _at(start - timedelta(days=rng.randint(14, 90)), rng.randint(8, 17))
        status = "closed" if end < self.today else "pipeline" if start > self.today else "active"
        budget, donors = self._funding(lead)
        out[Project].append(dict(
            id=pid, code=f"{lead}{area}P{seq:0{width}d}", title=title[:300], summary=summary,
            start_date=start, end_date=end, status=status, office_id=self._office(lead),
            budget_usd=budget, is_demo=True, created_at=created,
            updated_at=created + timedelta(days=rng.randint(0, 30)),
        ))
        out[ProjectCountry] += [dict(project_id=pid, country_iso3=c) for c in countries]
        out[ProjectPriority] += [dict(project_id=pid, priority_code=p, position=i)
                                 for i, p in enumerate(priorities)]
        out[ProjectDonor] += [dict(project_id=pid, donor_code=d, amount_usd=a) for d, a in donors]
        self._tags(pid, priorities, out)
        plan_start = max(start, ref.quarters[0].start)
        plan = _Plan(
            pid, countries, priorities, start, end, plan_start,
            quarters=[q for q in ref.quarters if q.end >= start and q.start <= end],
            life_quarters=_quarter_number(end) - _quarter_number(plan_start) + 1,
            before_share=(plan_start - start).days / ((end - start).days + 1),
            late_rate=rng.choice((0.02, 0.04, 0.06, 0.1, 0.2)),  # offices differ in discipline
            created=created,
        )
        for position in range(rng.choices((3, 4, 5, 6, 7, 8), (1, 2, 3, 4, 4, 3))[0]):
            self._indicator(plan, position, out)

    def _countries(self) -> list[str]:
        rng = self.rng
        lead = rng.choices(self.country_codes, self.country_weights)[0]
        chosen = [lead]
        # Multi-country projects mostly stay within a subregion (regional programmes).
        for _ in range(rng.choices((0, 1, 2), (50, 30, 20))[0]):
            same = rng.random() < 0.85
            pool = [c for c in self.country_codes if c not in chosen
                    and (not same or self.ref.countries[c][1] == self.ref.countries[lead][1])]
            if pool:
                chosen.append(rng.choices(pool, [V.COUNTRY_WEIGHTS.get(c, 3) for c in pool])[0])
        return chosen

    def _priorities(self) -> list[str]:
        rng = self.rng
        primary = rng.choices(self.ref.priorities, self.priority_weights)[0]
        others = [p for p in self.ref.priorities if p != primary]
        return [primary, rng.choice(others)] if others and rng.random() < 0.35 else [primary]

    def _dates(self) -> tuple[date, date]:
        rng, quarters = self.rng, self.ref.quarters
        first = quarters[0].start
        if rng.random() < 0.03:  # pipeline: starts after the last reporting period
            start = _add_months(quarters[-1].end, rng.randint(1, 6))
        else:  # some started before the first period and run into it
            start = _add_months(first, 3 * rng.randint(-8, len(quarters) - 3) + rng.choice((0, 0, 0, 1, 2)))
        months = rng.choice(DURATIONS_MONTHS)
        if start < first:
            gap = (first.year - start.year) * 12 + first.month - start.month
            months = max(months, gap + 12)
        return start, _add_months(start, months) - timedelta(days=1)

    def _office(self, iso3: str) -> int | None:
        offices = self.ref.offices.get(iso3)
        if not offices:  # e.g. Israel, covered by the regional office
            return None
        main = [o for o, kind in offices if kind == "main"]
        return self.rng.choice(main) if main and self.rng.random() < 0.7 else self.rng.choice(offices)[0]

    def _funding(self, lead: str) -> tuple[float, list[tuple[str, float]]]:
        """Budget and donor contributions in whole thousands of USD that add up exactly."""
        rng = self.rng
        where = {lead, self.ref.countries[lead][1]}
        eligible = [(code, w) for code, _n, w, places in V.DONORS if not places or where & set(places)]
        codes: list[str] = []
        for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
            code = rng.choices([c for c, _ in eligible], [w for _, w in eligible])[0]
            if code not in codes:
                codes.append(code)
        thousands = round(10 ** rng.uniform(2.3, 3.9))  # USD 200k .. 8M
        shares = [rng.uniform(1, 3) for _ in codes]
        amounts = [round(thousands * s / sum(shares)) for s in shares[:-1]]
        amounts.append(thousands - sum(amounts))
        return thousands * 1000.0, [(c, a * 1000.0) for c, a in zip(codes, amounts, strict=True)]

    def _tags(self, pid: int, priorities: list[str], out: dict[type, list[dict]]) -> None:
        rng, ref = self.rng, self.ref
        sdgs = sorted({s for p in priorities for s in V.SDG_BY_PRIORITY.get(p, ()) if s in ref.sdgs})
        gcms = sorted({g for p in priorities for g in V.GCM_BY_PRIORITY.get(p, ()) if g in ref.gcms})
        out[ProjectSdg] += [dict(project_id=pid, sdg_code=s)
                            for s in rng.sample(sdgs, min(len(sdgs), rng.randint(1, 3)))]
        out[ProjectGcm] += [dict(project_id=pid, gcm_number=g)
                            for g in rng.sample(gcms, min(len(gcms), rng.randint(1, 3)))]
        out[ProjectMarker] += [dict(project_id=pid, marker_code=m) for m in ref.markers
                               if rng.random() < V.MARKER_ODDS.get(m, 0.1)]

    def _indicator(self, plan: _Plan, position: int, out: dict[type, list[dict]]) -> None:
        rng, priorities = self.rng, plan.priorities
        priority = priorities[0] if len(priorities) == 1 or rng.random() < 0.75 else priorities[1]
        kind, level, statement, magnitude, disaggregation, standard = \
            self._indicator_spec(priority, plan.standards_used)
        iid = self._take(Indicator)
        measure = "percentage" if kind.startswith("pct") else "number"
        frequency = rng.choices(V.FREQUENCIES, V.FREQUENCY_WEIGHTS[level])[0]
        out[Indicator].append(dict(
            id=iid, project_id=plan.pid, code=f"{'OC' if level == 'outcome' else 'OP'}{position + 1}",
            statement=statement, level=level, priority_code=priority, measure=measure,
            aggregation="sum" if kind == "flow" else "latest",
            direction="decrease" if kind.endswith("down") else "increase",
            disaggregation=disaggregation, reporting_frequency=frequency,
            standard_indicator_code=standard, position=position,
            created_at=plan.created, updated_at=plan.created,
        ))
        with_milestones = rng.random() < 0.25
        for iso3 in plan.countries:
            baseline, target = self._target(kind, magnitude, iso3)
            opening = self._opening(kind, target, plan)
            out[IndicatorTarget].append(dict(indicator_id=iid, country_iso3=iso3, baseline=baseline,
                                             target=target, opening_actual=opening))
            if with_milestones:
                out[PeriodTarget] += [
                    dict(indicator_id=iid, country_iso3=iso3, period_code=q.code, target=t)
                    for q, t in _milestones(kind, baseline, target, plan)]
            # A line draws from its own stream, seeded from the project's: how its results
            # come out does not shift the projects drawn after it.
            rows = line_results(
                random.Random(rng.getrandbits(64)), kind=kind, disaggregation=disaggregation,
                frequency=frequency,
                baseline=baseline, target=target, opening=opening, start=plan.start, end=plan.end,
                quarters=plan.quarters, life_quarters=plan.life_quarters,
                last_index=len(self.ref.quarters) - 1, late_rate=plan.late_rate,
                # A country added by an admin has no demo officer: the admin reports for it.
                officer=self.officer.get(iso3, self.approvers[1]), approvers=self.approvers,
                country=iso3, indicator_id=iid, first_id=self.ids[Result],
                standing=self.standing.get((priority, self.ref.countries[iso3][1]), 0.5))
            self.ids[Result] += len(rows)
            out[Result] += rows

    def _indicator_spec(self, priority: str, used: set[str]):
        """Link to an unused standard indicator of the priority (70 %) or use a custom one.

        Only a standard indicator of the indicator's own priority, and the indicator takes its
        measure (and aggregation) from it: SPEC §3 allows no other link.
        """
        rng = self.rng
        standards = [s for s in self.ref.standards.get(priority, ()) if s.code not in used]
        if standards and rng.random() < 0.7:
            s = rng.choice(standards)
            used.add(s.code)
            # A percentage is always a level (latest), whatever the row says.
            kind = "pct_up" if s.measure == "percentage" else "flow" if s.aggregation == "sum" else "level_up"
            magnitude = V.PERCENT_BASELINE if kind == "pct_up" else next(
                (r for word, r in V.STANDARD_MAGNITUDES if word in s.statement.lower()), V.DEFAULT_MAGNITUDE)
            # Projects often report a standard people-count by sex only, or not at all.
            dis = s.disaggregation if kind == "flow" else "none"
            if dis == "sex_age":
                dis = rng.choices(("sex_age", "sex", "none"), (35, 45, 20))[0]
            elif dis == "sex" and rng.random() < 0.2:
                dis = "none"
            level = "output" if kind == "flow" else "outcome"
            return kind, level, s.statement, magnitude, dis, s.code
        pool = V.CUSTOM_INDICATORS.get(priority) or V.CUSTOM_INDICATORS["SP4"]
        kind, level, statement, magnitude, dis = rng.choice(pool)
        return kind, level, statement, magnitude, dis, None

    def _opening(self, kind: str, target: float, plan: _Plan) -> float:
        """What a flow of a project begun before the first period had achieved by then.

        About the share of its life already past, kept within 10-40 % of the target (and now
        and then nothing: activities had not started); 0 for levels and later projects.
        """
        if kind != "flow" or plan.before_share <= 0 or self.rng.random() < 0.1:
            return 0.0
        share = min(0.4, max(0.1, plan.before_share * self.rng.uniform(0.7, 1.1)))
        return float(round(target * share))

    def _target(self, kind: str, magnitude: tuple[int, int], iso3: str) -> tuple[float, float]:
        """Baseline and life-of-project target of a line; a latest target never equals its baseline."""
        rng = self.rng
        lo, hi = magnitude
        size = 0.5 + V.COUNTRY_WEIGHTS.get(iso3, 3) / 10  # bigger operations, bigger targets
        if kind == "flow":
            return 0.0, float(_nice(rng.uniform(lo, hi) * size))
        if kind == "pct_up":
            base = rng.randint(lo, hi)
            return float(base), float(min(98, base + rng.randint(10, 35)))
        if kind == "pct_down":
            base = rng.randint(lo, hi)
            return float(base), float(max(0, base - rng.randint(10, 25)))
        if kind == "level_up":
            base = rng.randint(lo, hi)
            return float(base), float(base + rng.randint(1, 6))
        # Backlogs grow with the operation; days or fees (small ranges) do not.
        base = _nice(rng.uniform(lo, hi) * (size if hi > 100 else 1))
        return float(base), float(max(0, round(base * rng.uniform(0.3, 0.75))))


def _quarter_number(day: date) -> int:
    return day.year * 4 + (day.month - 1) // 3


def _milestones(kind: str, baseline: float, target: float, plan: _Plan):
    """Per-period targets: a flow's share of the target per quarter, a level's expected value."""
    span = (plan.end - plan.start).days + 1
    for q in plan.quarters:
        if kind == "flow":
            # Cumulative rounding: whole numbers that add up to the target over the life.
            i, n = _quarter_number(q.start) - _quarter_number(plan.plan_start), plan.life_quarters
            yield q, float(round(target * (i + 1) / n) - round(target * i / n))
        else:
            share = min(1.0, ((min(q.end, plan.end) - plan.start).days + 1) / span)
            yield q, float(round(baseline + (target - baseline) * share, 1))
