"""Several worker processes, as deployed (`mne serve --workers 2`), over real HTTP on SQLite and
PostgreSQL: nothing that must be shared lives in one process's memory.

Each request goes to a chosen worker: a new connection is opened until the process that
accepted it (found with psutil from the connection's port) is the one wanted, and the request
is sent on that connection. So a throttle or a session kept in one worker's memory would fail
these tests deterministically, not by chance.

The same server trusts 127.0.0.1 and 10.0.0.0/8 as proxies (MNE_TRUSTED_PROXIES); connections
from 127.0.0.2 (also this machine) come from an untrusted peer, whose X-Forwarded-For must be
ignored.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import psutil
import pytest
from sqlmodel import select

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from mne.users.models import LoginAttempt
from tests import factories
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.serving import Served, serve

WORKERS = 2
UNTRUSTED_PEER = "127.0.0.2"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str
    pid: int  # the worker that answered


@dataclass
class Site:
    db_url: str
    served: Served
    port: int
    workers: list[int]
    emails: dict[str, str] = field(default_factory=dict)

    def _owner(self, conn: http.client.HTTPConnection) -> int | None:
        local = conn.sock.getsockname()[1]
        for pid in self.workers:
            for c in psutil.Process(pid).net_connections("tcp"):
                if c.raddr and c.raddr.port == local and c.laddr.port == self.port:
                    return pid
        return None

    def connect(self, pid: int, source: str = "127.0.0.1") -> http.client.HTTPConnection:
        """An open keep-alive connection that worker `pid` accepted."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(source, 0))
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            if self._owner(conn) == pid:
                return conn
            conn.close()
        raise AssertionError(f"no connection reached worker {pid} within 60 s")

    def send(self, pid: int, method: str, path: str, *, cookies: dict[str, str] | None = None,
             form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             source: str = "127.0.0.1") -> Reply:
        conn = self.connect(pid, source)
        try:
            all_headers = dict(headers or {})
            if cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            assert self._owner(conn) == pid  # still the same worker's connection
            return Reply(response.status, response.headers, text, pid)
        finally:
            conn.close()


def _workers_of(port: int) -> list[int]:
    """The processes of `mne serve --port PORT` that serve: its children holding the listening
    socket (not multiprocessing's resource tracker)."""
    main = next(p for p in psutil.process_iter(["cmdline"])
                if p.info["cmdline"] and "serve" in p.info["cmdline"] and str(port) in p.info["cmdline"])
    return sorted(child.pid for child in main.children()
                  if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                         for c in child.net_connections("tcp")))


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"workers-{request.param}")
    url = f"sqlite:///{workdir / 'workers.db'}" if request.param == "sqlite" else pg_database_url("workers")
    engine = engine_for(fresh_database(url))
    emails = {}
    with UnitOfWork(engine, expire_on_commit=False) as session:
        for key in ("throttled", "colleague", "signout", "xff"):
            emails[key] = factories.user(session, "regional_reviewer", email=f"{key}@workers.example").email
        session.commit()
    with serve(url, workdir, workers=WORKERS, trusted_proxies="127.0.0.1, 10.0.0.0/8") as served:
        port = int(served.url.rsplit(":", 1)[1])
        site = Site(db_url=url, served=served, port=port, workers=_workers_of(port), emails=emails)
        for pid in site.workers:  # both have started serving (the first /healthz needs only one)
            site.connect(pid).close()
        yield site
    engine.dispose()


def _login_csrf(site: Site, pid: int) -> tuple[dict[str, str], str]:
    page = site.send(pid, "GET", "/login")
    cookie = SimpleCookie(page.headers["set-cookie"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return {"mne_login_csrf": cookie["mne_login_csrf"].value}, token


def _sign_in(site: Site, pid: int, email: str, password: str, *, source: str = "127.0.0.1",
             headers: dict[str, str] | None = None) -> Reply:
    cookies, token = _login_csrf(site, pid)
    return site.send(pid, "POST", "/login", cookies=cookies, source=source, headers=headers,
                     form={"email": email, "password": password, "csrf_token": token, "next": "/"})


def test_serve_runs_the_requested_number_of_worker_processes(site):
    assert len(site.workers) == WORKERS
    assert len({site.send(pid, "GET", "/healthz").pid for pid in site.workers}) == WORKERS


def test_sign_in_throttle_counts_failures_made_on_either_worker(site):
    """Five failures, three on one worker and two on the other: a throttle kept per process
    would have counted at most three and let the right password in."""
    a, b = site.workers
    email = site.emails["throttled"]
    for pid in (a, b, a, b, a):
        reply = _sign_in(site, pid, email, "wrong-password-123")
        assert reply.status == 401, reply.text
    for pid in (b, a):
        reply = _sign_in(site, pid, email, factories.PASSWORD)
        assert reply.status == 429
        assert 0 < int(reply.headers["retry-after"]) <= 15 * 60
    # Only the five failures were recorded (refused sign-ins are not), all from this machine.
    with UnitOfWork(engine_for(site.db_url)) as session:
        rows = session.exec(select(LoginAttempt).where(LoginAttempt.email == email)).all()
        assert sorted(r.ip for r in rows) == ["127.0.0.1"] * 5
    # The address limit is far higher: a colleague at the same address still signs in.
    assert _sign_in(site, b, site.emails["colleague"], factories.PASSWORD).status == 303


def test_sign_out_on_one_worker_ends_the_session_on_the_other(site):
    a, b = site.workers
    signed = _sign_in(site, a, site.emails["signout"], factories.PASSWORD)
    assert signed.status == 303
    session_cookie = {"mne_session": SimpleCookie(signed.headers["set-cookie"])["mne_session"].value}
    pages = {pid: site.send(pid, "GET", "/account/password", cookies=session_cookie) for pid in (a, b)}
    assert [pages[a].status, pages[b].status] == [200, 200]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', pages[b].text).group(1)
    out = site.send(b, "POST", "/logout", cookies=session_cookie, form={"csrf_token": csrf})
    assert out.status == 303 and out.headers["location"].endswith("/login")
    # The old cookie works nowhere any more: pages redirect to sign-in, the API answers 401.
    for pid in (a, b, a, b):
        page = site.send(pid, "GET", "/account/password", cookies=session_cookie)
        assert page.status == 303 and "/login" in page.headers["location"]
        api = site.send(pid, "GET", "/api/v1/countries", cookies=session_cookie)
        assert api.status == 401


def _recorded_ip(site: Site, email: str) -> list[str]:
    with UnitOfWork(engine_for(site.db_url)) as session:
        return sorted(r.ip for r in session.exec(select(LoginAttempt).where(LoginAttempt.email == email)).all())


@pytest.mark.parametrize("source, forwarded, counted_as", [
    # An untrusted peer's header is ignored, whatever it says: rotating it evades nothing.
    (UNTRUSTED_PEER, "198.51.100.7", UNTRUSTED_PEER),
    (UNTRUSTED_PEER, "10.0.0.9", UNTRUSTED_PEER),
    # A trusted proxy (127.0.0.1): the right-most address that is not a trusted proxy is the
    # client; what the client itself wrote further left is not believed.
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
    ("127.0.0.1", "203.0.113.66, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
])
def test_forwarded_for_counts_only_through_trusted_proxies(site, source, forwarded, counted_as):
    email = f"xff.{source}.{len(forwarded)}@workers.example"
    for n, pid in enumerate(site.workers * 2):
        # Untrusted: a new address each time. Trusted: what the client wrote left of the
        # proxy's entries changes each time.
        header = (forwarded if n == 0 else f"192.0.2.{n}") if source == UNTRUSTED_PEER \
            else f"192.0.2.{n}, {forwarded}"
        headers = {"X-Forwarded-For": header}
        assert _sign_in(site, pid, email, "wrong-password-123", source=source, headers=headers).status == 401
    assert _recorded_ip(site, email) == [counted_as] * 4
