"""A PostgreSQL cluster of a test's own (initdb + pg_ctl), for tests that stop and start the
database under a served app. It listens on 127.0.0.1 on a free port, trusts local users, and
is deleted afterwards. PostgreSQL refuses to run as root, so as root its commands run as the
`postgres` user of the system."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.serving import free_port


def _server_binaries() -> Path:
    """MNE_PG_BIN, else the newest Debian/Ubuntu PostgreSQL, else wherever `initdb` is on PATH."""
    if os.environ.get("MNE_PG_BIN"):
        return Path(os.environ["MNE_PG_BIN"])
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if installed:
        return installed[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = _server_binaries()
OWNER = "postgres"


def unavailable_reason() -> str | None:
    """Why no cluster can be made here, or None."""
    if not (BIN / "initdb").exists() or not (BIN / "pg_ctl").exists():
        return f"initdb and pg_ctl are not in {BIN} (set MNE_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            return f"running as root, and there is no {OWNER!r} user to run PostgreSQL as"
    return None


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", OWNER, "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return self.datadir.parent / "postgres.log"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_owner([str(BIN / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", *args]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=90)

    def start(self) -> None:
        # No Unix socket: the app and the tests connect over TCP, as to a database elsewhere.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                   "-c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40")
        self._pg_ctl("-l", str(self.log), "-o", options, "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` ends every connection at once, as a crash would."""
        self._pg_ctl("-m", mode, "stop")

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def freeze(self) -> None:
        """Stop the server's main process (SIGSTOP): connections already made still work; a new
        one is accepted by the kernel and then never answered, as by a server that hangs."""
        os.kill(self.postmaster_pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.postmaster_pid(), signal.SIGCONT)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


@contextmanager
def temporary_cluster() -> Iterator[Cluster]:
    """A new running cluster, stopped and deleted when the block ends."""
    # Not under pytest's tmp_path: the `postgres` user could not reach into root's folders.
    base = Path(tempfile.mkdtemp(prefix="mne-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(OWNER)
        os.chown(base, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(datadir=base / "data", port=free_port())
    try:
        subprocess.run(_as_owner([str(BIN / "initdb"), "-D", str(cluster.datadir), "-U", "postgres",
                                  "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.datadir / "postmaster.pid").exists():
                cluster.stop("immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)
