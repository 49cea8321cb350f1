"""`mne remind`, meant for cron: plan the digests, send them over one SMTP connection, say what
was done in a line per digest and a summary; ``--dry-run`` shows who would get what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from mne.base import utcnow
from mne.config import Settings
from mne.reminders import service
from mne.reminders.mail import Mailer, MailError
from mne.reminders.service import OFFICER, REVIEWER


class RemindError(Exception):
    """The run could not do its job; ``code`` is the exit status (2: not configured)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _open_session(settings: Settings):
    # Transactions begin as the database likes (deferred on SQLite): reading the plan must not
    # take the write lock, and each record is a short write of its own.
    from mne.db import engine_for
    from mne.unit_of_work import UnitOfWork

    engine = engine_for(settings.database_url, settings.log_sql, pool_size=settings.db_pool_size,
                        timeout=settings.db_timeout)
    return UnitOfWork(engine, expire_on_commit=False)


def _counts(digests: list[service.Digest]) -> str:
    officers = sum(d.recipient.kind == OFFICER for d in digests)
    reviewers = sum(d.recipient.kind == REVIEWER for d in digests)
    return (f"{len(digests)} digest{'' if len(digests) == 1 else 's'}: {officers} officer{'' if officers == 1 else 's'}, "
            f"{reviewers} reviewer{'' if reviewers == 1 else 's'}")


def _skipped(plan: service.Plan) -> str:
    return f"skipped {plan.nothing_new} with nothing new, {plan.turned_off} with digests turned off"


def remind(settings: Settings, *, today: date | None = None, dry_run: bool = False,
           echo: Callable[[str], None] = print) -> service.Outcome | None:
    """Send the digests due as of ``today`` (default: the current date). Raises ``RemindError``
    when nothing can be sent or a send failed; the digests accepted before are recorded."""
    if not settings.smtp_host and not dry_run:
        raise RemindError("MNE_SMTP_HOST is not set: set the SMTP server that sends the reminders "
                          "(and MNE_SMTP_PORT, MNE_SMTP_TLS, MNE_SMTP_FROM), or try --dry-run", code=2)
    now = utcnow()
    today = today or now.date()
    with _open_session(settings) as session:
        plan = service.plan(session, settings, today=today, now=now)
        session.rollback()  # only read
        if dry_run:
            for digest in plan.digests:
                person = digest.recipient
                echo(f"would send to {person.email} ({person.kind}, {len(digest.keys)} new): {digest.text.subject}")
                echo("".join(f"    {line}\n" for line in digest.text.body.splitlines()).rstrip("\n"))
            echo(f"dry run as of {today:%Y-%m-%d}: would send {_counts(plan.digests)}; {_skipped(plan)}; "
                 "nothing sent or recorded")
            return None
        outcome = service.Outcome()

        def sent(digest: service.Digest) -> None:
            echo(f"sent to {digest.recipient.email} ({digest.recipient.kind}, {len(digest.keys)} new): "
                 f"{digest.text.subject}")

        try:
            with Mailer(settings) as mailer:
                service.send(session, settings, mailer, plan.digests, on_sent=sent, outcome=outcome)
        except MailError as exc:
            left = len(plan.digests) - len(outcome.sent) - len(outcome.refused)
            raise RemindError(f"{exc}; sent {_counts(outcome.sent)} before the failure (recorded), "
                              f"{left} not sent (the next run tries them again)") from None
    echo(f"sent {_counts(outcome.sent)} as of {today:%Y-%m-%d}; {_skipped(plan)}")
    if outcome.refused:
        for digest, reason in outcome.refused:
            echo(f"not sent to {digest.recipient.email}: {reason}")
        raise RemindError(f"the SMTP server {settings.smtp_host}:{settings.smtp_port} refused "
                          f"{len(outcome.refused)} recipient(s); nothing was recorded for them "
                          "(the next run tries again)")
    return outcome
