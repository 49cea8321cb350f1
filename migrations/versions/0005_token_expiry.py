"""API tokens may expire: `api_token.expires_at` (NULL: until revoked, as every existing token).

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mne.base


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', mne.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
