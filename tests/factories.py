"""Small factories of test rows.

`user` and `token` go through the users service (passwords hashed, scopes and token digests
stored as in production); `sign_in` through the real login form. `donor`, `project`,
`indicator` and `result` insert raw rows: quick, but without the services' checks and audit
events (they do mark the progress summaries stale, as the services do, so a commit keeps
those right), so they suit tests that need some data to show or to refuse. Where the services'
rules, the audit trail or progress figures are what is tested, build the data through the
services instead (the API, or `tests/progress_world.py`).
"""

from __future__ import annotations

import itertools

from sqlmodel import Session

from mne.progress import snapshots
from mne.reference.models import Donor
from mne.users import service as users

PASSWORD = "Correct-Horse-Battery-42"
_seq = itertools.count(1)


def user(session: Session, role: str, *, countries=(), donors=(), email: str | None = None, password: str = PASSWORD):
    email = email or f"{role}.{next(_seq)}@test.example"
    created = users.create_user(session, email=email, password=password, role=role,
                                countries=countries, donors=donors)
    session.flush()
    return created


def token(session: Session, role: str, **kwargs) -> dict[str, str]:
    """Authorization headers of a new user of that role."""
    u = user(session, role, **kwargs)
    _, secret = users.create_token(session, u)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


def donor(session: Session, code: str, name: str | None = None) -> Donor:
    existing = session.get(Donor, code)
    if existing:
        return existing
    d = Donor(code=code, name=name or f"Donor {code}")
    session.add(d)
    session.flush()
    return d


def project(session: Session, code: str | None = None, *, countries=("KGZ",), priorities=("SP1",),
            donors=(), start="2022-01-01", end="2023-12-31", office_id=None):
    """A project row with its countries, priorities and donors (raw rows, not the project service)."""
    from datetime import date

    from mne.projects.models import Project, ProjectCountry, ProjectDonor, ProjectPriority

    p = Project(code=code or f"P-{next(_seq)}", title=f"Project {code}", start_date=date.fromisoformat(start),
                end_date=date.fromisoformat(end), office_id=office_id)
    session.add(p)
    session.flush()
    session.add_all(ProjectCountry(project_id=p.id, country_iso3=c) for c in countries)
    session.add_all(ProjectPriority(project_id=p.id, priority_code=c, position=i) for i, c in enumerate(priorities))
    for d in donors:
        donor(session, d)
        session.add(ProjectDonor(project_id=p.id, donor_code=d, amount_usd=1000))
    session.flush()
    return p


def indicator(session: Session, proj, code: str = "I1", *, priority="SP1", aggregation="sum",
              direction="increase", measure="number", targets=None):
    from mne.indicators.models import Indicator, IndicatorTarget
    from mne.projects.models import ProjectCountry

    ind = Indicator(project_id=proj.id, code=code, statement=f"Indicator {code}", priority_code=priority,
                    aggregation=aggregation, direction=direction, measure=measure)
    session.add(ind)
    session.flush()
    if targets is None:
        from sqlmodel import select

        countries = session.exec(select(ProjectCountry.country_iso3).where(ProjectCountry.project_id == proj.id)).all()
        targets = {c: (0, 100) for c in countries}
    session.add_all(IndicatorTarget(indicator_id=ind.id, country_iso3=c, baseline=b, target=t)
                    for c, (b, t) in targets.items())
    session.flush()
    snapshots.mark_indicator(session, ind.id)  # as the service does: the summaries follow at commit
    return ind


def result(session: Session, ind, country: str = "KGZ", period: str = "2022Q1", value: float = 10,
           status: str = "draft"):
    from mne.results.models import Result

    r = Result(indicator_id=ind.id, country_iso3=country, period_code=period, value=value, status=status)
    session.add(r)
    session.flush()
    snapshots.mark_lines(session, [(ind.id, country)])
    return r


def sign_in(client, email: str, password: str = PASSWORD) -> str:
    """Sign a TestClient in through the real login form; returns the session's CSRF token."""
    import re

    page = client.get("/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": login_csrf,
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/account/password")
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)


def sign_in_page(page, live_server, email: str, password: str = PASSWORD) -> None:
    """Sign a Playwright page in through the login form of the live server."""
    from playwright.sync_api import expect

    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def signed_in(client, session, role: str = "regional_reviewer", **scope) -> None:
    """Sign a TestClient in as a new user of that role and scope."""
    created = user(session, role, **scope)
    session.commit()
    sign_in(client, created.email)
