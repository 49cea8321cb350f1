"""All settings in one place, read from ``MNE_…`` environment variables and ``.env``."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository root: migrations/, seed/ and templates/ live beside the package.
ROOT = Path(__file__).resolve().parent.parent

DEMO_SECRET = "demo-only-secret-key-do-not-use-in-production"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MNE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///mne.db"
    secret_key: str = ""
    # Demo mode allows the built-in secret and is what the quickstart runs.
    demo: bool = False
    # Send the session cookie only over HTTPS (set behind a TLS-terminating proxy).
    secure_cookies: bool = False
    # Reverse proxies (comma-separated IPs or CIDRs, e.g. "10.0.0.5,172.16.0.0/12") whose
    # X-Forwarded-For / -Proto `mne serve` believes; empty: none, the direct peer is the client
    # (the sign-in throttle counts per address, so a header anyone can send must not count).
    trusted_proxies: str = ""
    session_hours: int = 12
    # IATI: the reporting organisation and the prefix of activity identifiers.
    iati_org_ref: str = "XM-DAC-47066"
    iati_org_name: str = "International Organization for Migration"
    log_sql: bool = False
    # Requests one worker process serves at once, each holding one database connection; the
    # pool and the threadpool are sized from it (see `mne.db` and README "Concurrency").
    db_pool_size: int = Field(default=10, ge=1, le=500)
    # Seconds a request may wait for its turn at the database (a free connection, SQLite's
    # write lock) before it is answered 503 with Retry-After.
    db_timeout: float = Field(default=10.0, gt=0, le=600)
    # Downloads one worker streams at once (exports), each over a database connection of its
    # own beside the `db_pool_size` ones; more wait for a turn, then get 503.
    export_streams: int = Field(default=2, ge=1, le=100)
    # Imports of results (SPEC §6): the largest file accepted, and the most rows it may hold.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(default=200_000, ge=1)
    # The largest request body of any other route (API bodies, form posts): larger ones get 413
    # before they are read (see `mne.limits`).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Evidence files attached to results: where their bytes are kept (named by content hash;
    # back it up with `mne backup`), and the largest file accepted.
    files_dir: Path = Path("files")
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Reminder digests (`mne remind`): the SMTP server that sends them. No host: nothing is sent.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = ""
    # none | starttls | ssl
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_from: str = "mne@localhost"
    # The address of the app in links inside emails, e.g. https://mne.example.org
    base_url: str = "http://localhost:8000"

    def signing_secret(self) -> str:
        """The key that signs sessions; refuses a missing or placeholder one outside demo mode."""
        if self.demo:
            return self.secret_key or DEMO_SECRET
        if not self.secret_key:
            raise ConfigError(
                "MNE_SECRET_KEY is not set: set it to a long random string "
                "(or MNE_DEMO=1 for a local demo)"
            )
        if self.secret_key == DEMO_SECRET or len(self.secret_key) < 16:
            raise ConfigError("MNE_SECRET_KEY is a placeholder or too short: use 16+ random characters")
        return self.secret_key

    def trusted_proxy_list(self) -> list[str]:
        """MNE_TRUSTED_PROXIES as a list; refuses an entry that is not an IP address or network
        (uvicorn would otherwise compare it as a plain string and silently trust nothing)."""
        entries = []
        for entry in (part.strip() for part in self.trusted_proxies.split(",")):
            if not entry:
                continue
            try:  # normalised: uvicorn reads "10.0.0.1/8" (host bits set) as no network at all
                entries.append(str(ipaddress.ip_network(entry, strict=False)) if "/" in entry
                               else str(ipaddress.ip_address(entry)))
            except ValueError:
                raise ConfigError(f"MNE_TRUSTED_PROXIES: {entry[:60]!r} is not an IP address or network "
                                  "(write e.g. 10.0.0.5 or 10.0.0.0/8, comma-separated)") from None
        return entries


@lru_cache
def get_settings() -> Settings:
    return Settings()
