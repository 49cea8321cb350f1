"""Sending mail through the SMTP server of the settings (``MNE_SMTP_*``): one connection per run,
opened at the first message, plain text messages.

A failure says which server it was and why, in one line: the cron job's log is where someone
will read it.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Self

from mne.config import Settings

# Seconds to wait for the server (connecting, each reply); a cron job must not hang for ever.
TIMEOUT = 30


class MailError(Exception):
    """The server could not be used (unreachable, TLS, sign-in, disconnected): stop sending."""


class RecipientRefused(MailError):
    """The server refused this one recipient; the others can still be sent to."""


def message(settings: Settings, *, to_email: str, to_name: str, subject: str, body: str) -> EmailMessage:
    """A plain text message from ``MNE_SMTP_FROM``, marked as sent by a machine (RFC 3834), so
    that out-of-office replies are not sent back to it."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = formataddr((to_name, to_email)) if to_name else to_email
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = settings.smtp_from.rpartition("@")[2].strip("> ") or None
    msg["Message-ID"] = make_msgid("mne", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


class Mailer:
    """One SMTP connection, opened on the first ``send`` and closed by ``close`` (or ``with``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _fail(self, doing: str, exc: BaseException) -> MailError:
        reason = _reason(exc)
        return MailError(f"cannot {doing} the SMTP server {self.server} (MNE_SMTP_HOST, MNE_SMTP_PORT, "
                         f"MNE_SMTP_TLS={self.settings.smtp_tls}): {reason}")

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()  # trusts the system's CAs, or SSL_CERT_FILE's
        try:
            if s.smtp_tls == "ssl":
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT)
        except (OSError, smtplib.SMTPException) as exc:
            raise self._fail("connect to", exc) from None
        try:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise MailError(f"the SMTP server {self.server} refused the sign-in of {s.smtp_user!r} "
                            f"(MNE_SMTP_USER, MNE_SMTP_PASSWORD): {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            doing = "start TLS with" if s.smtp_tls == "starttls" else "sign in to"
            raise self._fail(doing, exc) from None
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Hand ``msg`` to the server; returns once the server has accepted it."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{to}: {_reply(*err)}" for to, err in exc.recipients.items())
            raise RecipientRefused(f"the SMTP server {self.server} refused the recipient ({refused})") from None
        except smtplib.SMTPSenderRefused as exc:
            raise MailError(f"the SMTP server {self.server} refused the sender {self.settings.smtp_from!r} "
                            f"(MNE_SMTP_FROM): {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise self._fail("send through", exc) from None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass  # everything sent was already accepted; a rude goodbye changes nothing
        finally:
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _reply(code: int, text: bytes | str) -> str:
    """A server's reply: "550 5.1.1 no such mailbox"."""
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}"


def _reason(exc: BaseException) -> str:
    """An exception in a few words: the server's reply, or the system's error."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted ({exc.verify_message}; a private CA: set SSL_CERT_FILE)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {TIMEOUT} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
