"""The reminders of `mne remind`: who gets a digest, what it tells, and the record of what was told.

What is due is ``mne.due.service.outstanding`` (the lines still owed in open periods due within 7
days or overdue); what waits for review is ``mne.due.service.waiting_for_review``. This module
only decides which of those items a user has not been told of yet (the ``notification`` table),
and records them once the SMTP server has accepted the digest: sent, then recorded, so a failed
send is tried again by the next run and an accepted one is never sent twice.

No transaction stays open while mail is sent: the plan is read first, then each accepted digest
is recorded in a short transaction of its own (on SQLite a long one would hold the write lock
that the app's users need).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mne.audit import service as audit
from mne.auth.principal import Principal
from mne.base import ResultStatus, Role
from mne.config import Settings
from mne.due import service as due
from mne.reference import service as reference
from mne.reminders import digests
from mne.reminders.digests import DUE, REVIEW, Text
from mne.reminders.mail import Mailer, RecipientRefused, message
from mne.reminders.models import Notification
from mne.results.models import Result
from mne.users import service as users
from mne.users.models import User

OFFICER, REVIEWER = "officer", "reviewer"
# Who gets which digest: officers what their countries owe; those who review (reviewers and
# admins, region-wide) what waits for review. Donor viewers get none.
DIGEST_OF_ROLE = {Role.country_officer: DUE, Role.regional_reviewer: REVIEW, Role.admin: REVIEW}
WITHIN_DAYS = 7


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str
    name: str
    role: str
    countries: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return OFFICER if DIGEST_OF_ROLE[Role(self.role)] == DUE else REVIEWER


@dataclass
class Digest:
    recipient: Recipient
    kind: str  # DUE or REVIEW: the notification kind
    text: Text
    keys: list[str]  # the items it tells for the first time, recorded once it is accepted
    # For review digests, every result still waiting: what was told of the others (approved or
    # returned since) can never be told again, and is forgotten when this digest is recorded.
    current: frozenset[str] | None = None


@dataclass
class Plan:
    today: date
    digests: list[Digest] = field(default_factory=list)
    nothing_new: int = 0  # users with items, all of them told before (or none at all)
    turned_off: int = 0  # users who would get a digest but have turned them off


def _recipients(session: Session) -> tuple[list[Recipient], int]:
    """Active officers, reviewers and admins who want digests; and how many have turned them off."""
    rows = session.execute(
        select(User.id, User.email, User.name, User.role, User.email_digests)
        .where(User.is_active, User.role.in_([r.value for r in DIGEST_OF_ROLE]))
        .order_by(User.role, User.email)
    ).all()
    wanted = [r for r in rows if r.email_digests]
    scopes = users.scopes_of(session, [r.id for r in wanted if r.role == Role.country_officer])
    return [Recipient(r.id, r.email, r.name, r.role, tuple(scopes.get(r.id, ([], []))[0])) for r in wanted], \
        len(rows) - len(wanted)


def told(session: Session, user_id: int, kind: str) -> set[str]:
    """The keys already told to this user."""
    return set(session.scalars(select(Notification.key).where(Notification.user_id == user_id,
                                                             Notification.kind == kind)))


def _waiting_keys(session: Session) -> set[str]:
    """A key per submitted result: reviewers and admins review the whole region."""
    return {digests.review_key(rid, submitted_at, version) for rid, submitted_at, version in session.execute(
        select(Result.id, Result.submitted_at, Result.version).where(Result.status == ResultStatus.submitted))}


def _as_of(today: date, now: datetime) -> datetime:
    """The moment ages are counted to: now, or this time of day on the ``--today`` date."""
    return now if now.date() == today else datetime.combine(today, now.timetz())


def plan(session: Session, settings: Settings, *, today: date, now: datetime) -> Plan:
    """Every digest to send as of ``today``, each with only what its user was not told before."""
    recipients, turned_off = _recipients(session)
    result = Plan(today=today, turned_off=turned_off)
    names = {c.iso3: c.name for c in reference.countries(session)}
    waiting: set[str] | None = None
    queues: list[digests.Queue] | None = None
    for person in recipients:
        kind = DIGEST_OF_ROLE[Role(person.role)]
        if kind == DUE:
            items = due.outstanding_for_countries(session, person.countries, today, within_days=WITHIN_DAYS)
            seen = told(session, person.id, DUE)
            new = [i for i in items if digests.due_key(i) not in seen]
            if not new:
                result.nothing_new += 1
                continue
            text = digests.officer_digest(name=person.name, new=new, told_before=len(items) - len(new), today=today,
                                          base_url=settings.base_url, countries=person.countries,
                                          country_names=names)
            result.digests.append(Digest(person, DUE, text, [digests.due_key(i) for i in new]))
        else:
            if waiting is None:  # the same for every reviewer: read once
                waiting = _waiting_keys(session)
                as_of = _as_of(today, now)
                reviewer = Principal(id=0, email="", name="", role=Role.regional_reviewer, via="cli")
                queues = [digests.Queue(q.country, q.waiting, q.oldest_days(as_of),
                                        q.oldest_submitted_at.date() if q.oldest_submitted_at else None)
                          for q in due.waiting_for_review(session, reviewer)]
            new_keys = sorted(waiting - told(session, person.id, REVIEW))
            if not new_keys:
                result.nothing_new += 1
                continue
            text = digests.reviewer_digest(name=person.name, queues=queues, new=len(new_keys),
                                           base_url=settings.base_url, country_names=names)
            result.digests.append(Digest(person, REVIEW, text, new_keys, frozenset(waiting)))
    return result


def record(session: Session, digest: Digest) -> None:
    """Note that ``digest`` was accepted by the server: its items are not told again. A key
    recorded meanwhile by another run is left as it is."""
    person = digest.recipient
    if digest.current is not None:
        stale = told(session, person.id, digest.kind) - digest.current
        for chunk in _chunks(sorted(stale), 500):
            session.execute(delete(Notification).where(Notification.user_id == person.id,
                                                       Notification.kind == digest.kind, Notification.key.in_(chunk)))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for chunk in _chunks(digest.keys, 500):
        session.execute(insert(Notification).values([{"user_id": person.id, "kind": digest.kind, "key": key}
                                                     for key in chunk])
                        .on_conflict_do_nothing(index_elements=["user_id", "kind", "key"]))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class Outcome:
    sent: list[Digest] = field(default_factory=list)
    refused: list[tuple[Digest, str]] = field(default_factory=list)  # the server refused the recipient

    def count(self, kind: str) -> int:
        return sum(d.recipient.kind == kind for d in self.sent)


def send(session: Session, settings: Settings, mailer: Mailer, batch: Iterable[Digest], *,
         on_sent: Callable[[Digest], None] = lambda d: None,
         outcome: Outcome | None = None) -> Outcome:
    """Send each digest, and record each one the server accepts at once, in its own transaction.

    A recipient the server refuses is skipped (nothing recorded: the next run tries again); any
    other failure (``MailError``) stops the run, with what was sent before it recorded. Pass an
    ``outcome`` to still have it when the run stops."""
    outcome = outcome if outcome is not None else Outcome()
    session.commit()  # end the planning's read transaction: none stays open while mail is sent
    for digest in batch:
        person = digest.recipient
        try:
            mailer.send(message(settings, to_email=person.email, to_name=person.name, subject=digest.text.subject,
                                body=digest.text.body))
        except RecipientRefused as exc:
            outcome.refused.append((digest, str(exc)))
            continue
        record(session, digest)
        session.commit()
        outcome.sent.append(digest)
        on_sent(digest)
    return outcome


# --- the user's choice ------------------------------------------------------------------------

def set_email_digests(session: Session, user: User, on: bool, *, actor_id: int | None) -> User:
    """Turn the reminder digests on or off for ``user`` (audited as a change of the user)."""
    if user.email_digests == on:
        return user
    user.email_digests = on
    session.add(user)
    audit.record(session, actor_id=actor_id, action="user.update", entity="user", entity_id=user.id,
                 before={"email_digests": not on}, after={"email_digests": on})
    session.flush()
    return user
