"""The signed-in user as the rest of the app sees it: role and scope, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from mne.base import Role

REGION_WIDE = frozenset({Role.regional_reviewer, Role.admin})


@dataclass(frozen=True)
class Principal:
    id: int
    email: str
    name: str
    role: Role
    countries: frozenset[str] = frozenset()
    donors: frozenset[str] = frozenset()
    via: str = "session"  # "session" (browser cookie) or "token" (API bearer token)
    csrf_token: str | None = None

    @property
    def region_wide(self) -> bool:
        return self.role in REGION_WIDE

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def can_review(self) -> bool:
        return self.role in REGION_WIDE

    @property
    def display_name(self) -> str:
        return self.name or self.email
