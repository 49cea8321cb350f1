"""Reminders by email (issue 14, part 3): `mne remind` sends each officer one digest of what is due
within 7 days or overdue, each reviewer one of what waits for review, nothing twice; a user may
turn the digests off. The mail goes to a real SMTP server (aiosmtpd) started here, and the tests
read what it received.

The world, as of 2024-07-25 (2024Q1 was due 2024-04-30, 2024Q2 is due 2024-07-30; earlier
periods are closed in the seed, 2024's open): project REM-A in KGZ and TJK (2024), indicators
A1 and A2, quarterly.

    KGZ  A1 2024Q1 draft      -> owed, overdue
    KGZ  A2 2024Q1 approved   -> not owed
    KGZ  A1 2024Q2 missing    -> owed, due in 5 days
    KGZ  A2 2024Q2 submitted  -> not owed; waits for review, submitted 2024-07-16 05:00 UTC
                                 (9 whole days before the runs at 06:00)
    TJK  A1, A2 in 2024Q1 and 2024Q2: missing -> 4 owed

So the KGZ officer is told 2 lines (and none of TJK's), the TJK officer 4, the reviewer 1 result.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
import subprocess
from datetime import UTC, date, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text, update
from sqlmodel import Session, select

from mne.audit.models import AuditEvent
from mne.config import Settings
from mne.db import engine_for
from mne.reminders import digests, service
from mne.reminders.mail import Mailer, MailError
from mne.reminders.models import Notification
from mne.results import service as results
from mne.results.models import Result
from mne.results.schemas import ResultWrite
from mne.unit_of_work import UnitOfWork
from mne.users.models import User
from tests import factories
from tests.command_line import mne
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import World

TODAY = date(2024, 7, 25)
BASE = "https://mne.example.org"


# --- a real SMTP server ------------------------------------------------------------------------

class Inbox:
    """What the server received; it refuses the recipients in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        msg["X-Was-TLS"] = "yes" if session.ssl else "no"
        self.messages.append(msg)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


def settings_for(db_url: str, port: int, **extra) -> Settings:
    return Settings(database_url=db_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="mne@example.org",
                    base_url=BASE, **extra)


def body(msg) -> str:
    return msg.get_content().replace("\r\n", "\n")


# --- the world ---------------------------------------------------------------------------------

def build(session: Session) -> dict:
    w = World(session)
    project = w.project("REM-A", countries=("KGZ", "TJK"), start="2024-01-01", end="2024-12-31")
    a1 = w.indicator(project, "A1", {"KGZ": (0, 100), "TJK": (0, 100)})
    a2 = w.indicator(project, "A2", {"KGZ": (0, 100), "TJK": (0, 100)})
    w.report(a1, "KGZ", "2024Q1", 5, "draft")
    w.report(a2, "KGZ", "2024Q1", 5, "approved")
    waiting = w.report(a2, "KGZ", "2024Q2", 5, "submitted")
    session.execute(update(Result).where(Result.id == waiting)
                    .values(submitted_at=datetime(2024, 7, 16, 5, 0, tzinfo=UTC)))
    w.officer("TJK")
    users = {"kgz": w.officer("KGZ"), "tjk": w.officer("TJK"), "reviewer": w.reviewer}
    off = factories.user(session, "country_officer", countries=["KGZ"], email="quiet@test.example")
    off.email_digests = False
    gone = factories.user(session, "regional_reviewer", email="gone@test.example")
    gone.is_active = False
    session.add_all([off, gone])
    session.flush()
    return {"world": w, "a1": a1, "a2": a2, "waiting": waiting,
            "emails": {k: p.email for k, p in users.items()}}


def recorded(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(select(User.email, Notification.kind, Notification.key)
                           .join(User, User.id == Notification.user_id).order_by(User.email, Notification.key))
    return [tuple(r) for r in rows]


def run(session, settings, today=TODAY):
    plan = service.plan(session, settings, today=today, now=datetime(2024, 7, 25, 6, 0, tzinfo=UTC))
    with Mailer(settings) as mailer:
        return plan, service.send(session, settings, mailer, plan.digests)


# --- the digests, through the service ----------------------------------------------------------

def test_each_officer_gets_one_digest_of_its_countries_lines_and_the_reviewer_the_waiting_count(session, smtp,
                                                                                                 db_url):
    w = build(session)
    kgz, tjk, reviewer = (w["emails"][k] for k in ("kgz", "tjk", "reviewer"))
    plan, outcome = run(session, settings_for(db_url, smtp.port))
    assert (outcome.count("officer"), outcome.count("reviewer"), plan.turned_off) == (2, 1, 1)
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted([kgz, tjk, reviewer])

    (mail,) = smtp.to(kgz)
    assert mail["Subject"] == "mne reminder: 1 report overdue, 1 due soon"
    assert mail["From"] == "mne@example.org" and mail["Auto-Submitted"] == "auto-generated"
    text_ = body(mail)
    # The overdue draft first, then the line due in 5 days; nothing of TJK, nothing already sent.
    assert "OVERDUE\n\n2024Q1, due 2024-04-30 (86 days overdue)\n  REM-A: Project REM-A" in text_
    assert "    - A1 Indicator A1 (Kyrgyzstan (KGZ)): draft, not submitted" in text_
    assert "DUE SOON\n\n2024Q2, due 2024-07-30 (due in 5 days)" in text_
    assert "    - A1 Indicator A1 (Kyrgyzstan (KGZ)): not reported" in text_
    assert text_.count("    - ") == 2 and "TJK" not in text_ and "A2" not in text_
    assert f"My reporting: {BASE}/reporting" in text_ and f"{BASE}/projects/REM-A/results" in text_
    assert f"{BASE}/account/notifications" in text_

    (mail,) = smtp.to(tjk)
    assert mail["Subject"] == "mne reminder: 2 reports overdue, 2 due soon"
    assert body(mail).count("(Tajikistan (TJK)): not reported") == 4 and "KGZ" not in body(mail)

    (mail,) = smtp.to(reviewer)
    assert mail["Subject"] == "mne reminder: 1 result waits for your review"
    text_ = body(mail)
    assert "1 result waits for your review (1 new since the last reminder)." in text_
    assert "The oldest was submitted on 2024-07-16, 9 days ago." in text_
    assert "  Kyrgyzstan (KGZ): 1 waiting, the oldest submitted on 2024-07-16 (9 days ago)" in text_
    assert f"Review queue: {BASE}/review" in text_

    # What was told is recorded, per user and item (with the line's state, the result's submission).
    told = recorded(session)
    assert (kgz, "due", f"{w['a1']}:KGZ:2024Q1:draft") in told and (kgz, "due", f"{w['a1']}:KGZ:2024Q2:missing") in told
    assert (reviewer, "review", f"{w['waiting']}:2024-07-16T05:00:00.000000") in told
    assert len(told) == 2 + 4 + 1


def test_a_second_run_sends_nothing_and_a_change_of_state_is_told_again(session, smtp, db_url):
    w = build(session)
    settings = settings_for(db_url, smtp.port)
    run(session, settings)
    assert len(smtp.messages) == 3
    plan, outcome = run(session, settings)
    assert outcome.sent == [] and len(smtp.messages) == 3 and plan.nothing_new == 3

    # KGZ's A1 2024Q2 goes from missing to returned: told again, alone, the earlier line counted.
    world, kgz = w["world"], w["emails"]["kgz"]
    rid = results.put_result(session, world.officer("KGZ"), ResultWrite(indicator_id=w["a1"], country="KGZ",
                                                                        period="2024Q2", value=3)).id
    results.submit(session, world.officer("KGZ"), rid)
    results.return_(session, world.reviewer, rid, "attach the attendance lists")
    session.flush()
    plan, outcome = run(session, settings)
    assert [d.recipient.email for d in outcome.sent] == [kgz]
    (mail,) = smtp.to(kgz)[1:]
    assert mail["Subject"] == "mne reminder: 1 report due soon"
    assert "    - A1 Indicator A1 (Kyrgyzstan (KGZ)): returned to you" in body(mail)
    assert "You also still owe 1 report listed in an earlier reminder." in body(mail)
    assert "OVERDUE" not in body(mail)

    # A result submitted again waits anew: the reviewer is told; what left the queue is forgotten.
    results.submit(session, world.officer("KGZ"), rid)
    results.approve(session, world.reviewer, w["waiting"])
    session.flush()
    _, outcome = run(session, settings)
    reviewer = w["emails"]["reviewer"]
    assert [d.recipient.email for d in outcome.sent] == [reviewer]
    assert "1 result waits for your review (1 new since the last reminder)." in body(smtp.to(reviewer)[-1])
    submitted_at = session.scalar(select(Result.submitted_at).where(Result.id == rid))
    assert [k for e, _, k in recorded(session) if e == reviewer] == [service.digests.review_key(rid, submitted_at, 0)]


def test_who_turned_the_digests_off_or_is_inactive_or_a_donor_gets_nothing(session, smtp, db_url):
    build(session)
    factories.donor(session, "ECHO")
    factories.user(session, "donor_viewer", donors=["ECHO"], email="donor@test.example")
    plan, _ = run(session, settings_for(db_url, smtp.port))
    to = {m["X-Envelope-To"] for m in smtp.messages}
    assert not to & {"quiet@test.example", "gone@test.example", "donor@test.example"}
    assert plan.turned_off == 1  # quiet; the inactive reviewer and the donor are not counted
    assert not [r for r in recorded(session) if r[0] in ("quiet@test.example", "gone@test.example")]


def test_an_unreachable_server_records_nothing_and_names_the_host(session, db_url):
    build(session)
    settings = settings_for(db_url, free_port())  # nobody listens there
    plan = service.plan(session, settings, today=TODAY, now=datetime(2024, 7, 25, tzinfo=UTC))
    with pytest.raises(MailError) as failure, Mailer(settings) as mailer:
        service.send(session, settings, mailer, plan.digests)
    assert f"cannot connect to the SMTP server 127.0.0.1:{settings.smtp_port}" in str(failure.value)
    assert recorded(session) == []


def test_a_refused_recipient_is_skipped_and_the_others_are_sent(session, smtp, db_url):
    w = build(session)
    smtp.refuse.add(w["emails"]["tjk"])
    _, outcome = run(session, settings_for(db_url, smtp.port))
    assert [d.recipient.email for d, _ in outcome.refused] == [w["emails"]["tjk"]]
    assert "550 5.1.1 no such mailbox" in outcome.refused[0][1]
    assert len(outcome.sent) == 2
    assert {r[0] for r in recorded(session)} == {w["emails"]["kgz"], w["emails"]["reviewer"]}


@pytest.mark.parametrize(("today", "expected"), [
    (date(2024, 4, 22), None),  # 2024Q1 due in 8 days: not yet
    (date(2024, 4, 23), "mne reminder: 1 report due soon"),  # due in 7 days: told (A1's draft, KGZ)
])
def test_a_line_is_told_from_seven_days_before_its_due_date(session, smtp, db_url, today, expected):
    w = build(session)
    run(session, settings_for(db_url, smtp.port), today=today)
    subjects = [m["Subject"] for m in smtp.to(w["emails"]["kgz"])]
    assert subjects == ([expected] if expected else [])


# --- the opt-out page --------------------------------------------------------------------------

def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_user_turns_the_digests_off_and_on_on_the_account_page(client, session):
    user = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    factories.sign_in(client, user.email)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    assert 'id="email_digests" name="email_digests" value="on" checked' in page.text
    assert "reports your countries owe" in page.text and 'href="/account/notifications"' in page.text
    token = csrf_of(page.text)

    done = client.post("/account/notifications", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account/notifications?saved=1"
    session.refresh(user)
    assert user.email_digests is False
    page = client.get("/account/notifications?saved=1")
    assert "you will get no more reminder digests" in page.text and " checked" not in page.text.split("email_digests")[1][:80]
    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.entity_id == str(user.id))
                         .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.before, event.after) == ("user.update", {"email_digests": True}, {"email_digests": False})

    client.post("/account/notifications", data={"csrf_token": token, "email_digests": "on"})
    session.refresh(user)
    assert user.email_digests is True


def test_the_account_page_refuses_a_forged_post_and_odd_values(client, session):
    user = factories.user(session, "regional_reviewer")
    session.commit()
    factories.sign_in(client, user.email)
    assert client.post("/account/notifications", data={"csrf_token": "forged"}).status_code == 403
    token = csrf_of(client.get("/account/notifications").text)
    odd = client.post("/account/notifications", data={"csrf_token": token, "email_digests": "maybe"})
    assert odd.status_code == 422 and 'id="email_digests-error"' in odd.text
    session.refresh(user)
    assert user.email_digests is True
    client.cookies.clear()  # signed out: the page is not shown
    assert client.get("/account/notifications", follow_redirects=False).status_code in (303, 401)


# --- `mne remind`, as cron runs it ----------------------------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def committed(request, tmp_path_factory):
    """A committed database (the command runs in a child process) with the world above."""
    url = (f"sqlite:///{tmp_path_factory.mktemp('remind') / 'remind.db'}" if request.param == "sqlite"
           else pg_database_url("remind"))
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        world = build(session)
        session.commit()
    return url, world["emails"]


def forget(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM notification"))


def counted(url: str) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM notification")).scalar_one()


def remind_cli(monkeypatch, url: str, *args: str, **env) -> subprocess.CompletedProcess:
    with monkeypatch.context() as m:
        for name, value in env.items():
            m.setenv(name, value)
        return mne(["remind", "--today", "2024-07-25", *args], url)


def smtp_env(port: int, **extra) -> dict[str, str]:
    return {"MNE_SMTP_HOST": "127.0.0.1", "MNE_SMTP_PORT": str(port), "MNE_SMTP_FROM": "mne@example.org",
            "MNE_BASE_URL": BASE, **extra}


def test_the_command_refuses_without_a_host_dry_runs_fails_cleanly_then_sends_once(committed, smtp, monkeypatch):
    url, emails = committed
    forget(url)
    done = remind_cli(monkeypatch, url, MNE_SMTP_HOST="")
    assert done.returncode == 2 and b"MNE_SMTP_HOST is not set" in done.stderr

    done = remind_cli(monkeypatch, url, "--dry-run", **smtp_env(smtp.port))
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert f"would send to {emails['kgz']} (officer, 2 new): mne reminder: 1 report overdue, 1 due soon" in out
    assert f"would send to {emails['reviewer']} (reviewer, 1 new)" in out
    assert "would send 3 digests: 2 officers, 1 reviewer; skipped 0 with nothing new, 1 with digests turned off" in out
    assert smtp.messages == [] and counted(url) == 0

    port = free_port()  # nobody listens
    done = remind_cli(monkeypatch, url, **smtp_env(port))
    assert done.returncode == 1
    assert f"cannot connect to the SMTP server 127.0.0.1:{port}".encode() in done.stderr
    assert b"sent 0 digests" in done.stderr and b"Traceback" not in done.stderr
    assert counted(url) == 0

    done = remind_cli(monkeypatch, url, **smtp_env(smtp.port))
    assert done.returncode == 0, done.stderr
    assert b"sent 3 digests: 2 officers, 1 reviewer as of 2024-07-25" in done.stdout
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(emails.values())
    assert counted(url) == 7

    done = remind_cli(monkeypatch, url, **smtp_env(smtp.port))
    assert done.returncode == 0 and b"sent 0 digests: 0 officers, 0 reviewers" in done.stdout
    assert b"skipped 3 with nothing new" in done.stdout and len(smtp.messages) == 3


def test_the_command_rejects_a_bad_date(committed, monkeypatch):
    done = remind_cli(monkeypatch, committed[0], "--today", "2024-02-30", MNE_SMTP_HOST="127.0.0.1")
    assert done.returncode == 2 and b"--today" in done.stderr and b"YYYY-MM-DD" in done.stderr


# --- STARTTLS with a self-signed certificate -----------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    return key, cert


@pytest.fixture
def tls_smtp(certificate):
    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    inbox = Inbox()
    controller = Controller(inbox, hostname="localhost", port=free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


def test_starttls_to_a_server_whose_certificate_is_trusted_and_not_otherwise(committed, tls_smtp, certificate,
                                                                            monkeypatch):
    url, _ = committed
    forget(url)
    env = smtp_env(tls_smtp.port, MNE_SMTP_HOST="localhost", MNE_SMTP_TLS="starttls")
    done = remind_cli(monkeypatch, url, **env)  # the system's CAs do not know this certificate
    assert done.returncode == 1 and b"localhost" in done.stderr and b"not trusted" in done.stderr
    assert counted(url) == 0 and tls_smtp.messages == []

    done = remind_cli(monkeypatch, url, **env, SSL_CERT_FILE=str(certificate[1]))
    assert done.returncode == 0, done.stderr
    assert len(tls_smtp.messages) == 3 and {m["X-Was-TLS"] for m in tls_smtp.messages} == {"yes"}
    assert counted(url) == 7


# --- what a digest says, without a server ---------------------------------------------------------

def _item(n: int, period="2024Q2", due=date(2024, 7, 30), state="missing"):
    from mne.due.rules import DueItem

    return DueItem(indicator_id=n, indicator_code=f"I{n}", indicator_name=f"Indicator {n}", project_code="P",
                   project_title="Project P", country="KGZ", period=period, due_date=due, state=state)


def test_a_long_digest_lists_the_first_hundred_lines_and_counts_the_rest():
    items = [_item(n) for n in range(1, 131)]
    text_ = digests.officer_digest(name="Olga", new=items, told_before=2, today=TODAY, base_url=BASE + "/",
                                   countries=["KGZ", "TJK", "UZB"], country_names={"KGZ": "Kyrgyzstan"})
    assert text_.subject == "mne reminder: 130 reports due soon"
    assert text_.body.startswith("Hello Olga,\n\nThese reports for Kyrgyzstan (KGZ), TJK and UZB are overdue")
    assert text_.body.count("    - ") == digests.MAX_LINES and "    - I100 " in text_.body and "I101" not in text_.body
    assert "... and 30 more lines: see My reporting." in text_.body
    assert "You also still owe 2 reports listed in an earlier reminder." in text_.body
    assert f"My reporting: {BASE}/reporting" in text_.body  # no double slash from a base URL ending in /


def test_the_keys_of_what_was_told():
    # A due line's key holds its state: told while missing, told again once returned.
    assert digests.due_key(_item(7)) == "7:KGZ:2024Q2:missing"
    assert digests.due_key(_item(7, state="returned")) == "7:KGZ:2024Q2:returned"
    # A waiting result's holds when it was submitted (its version when that is unknown).
    assert digests.review_key(9, datetime(2024, 7, 16, 5, 0, 1, 250, tzinfo=UTC), 3) == "9:2024-07-16T05:00:01.000250"
    assert digests.review_key(9, None, 3) == "9:v3"
