"""The app as it is deployed: `mne serve` in a process of its own, on a port of this machine.

Tests that make requests at the same time use it: the TestClient serialises requests, and a
server in the test's own process would share its interpreter lock with the clients.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET


@dataclass(frozen=True)
class Served:
    url: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(db_url: str, workdir: Path, *, workers: int = 1, **settings: str) -> Iterator[Served]:
    """Run `mne serve` on a free port against `db_url` until the block ends; `settings` are
    extra MNE_… variables (e.g. db_pool_size="1")."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNE_")}
    env.update({"MNE_DATABASE_URL": db_url, "MNE_SECRET_KEY": TEST_SECRET},
               **{f"MNE_{k.upper()}": str(v) for k, v in settings.items()})
    log = workdir / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mne.cli", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(url=f"http://127.0.0.1:{port}", log=log)
    try:
        deadline = time.monotonic() + 120  # several workers start slowly on a busy machine
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mne serve exited with {process.returncode}:\n{served.log_tail()}")
            try:
                if httpx.get(served.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mne serve did not answer within 120 s:\n{served.log_tail()}")
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
