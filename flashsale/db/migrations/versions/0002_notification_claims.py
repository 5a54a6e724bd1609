"""Notification claims with a lease: `claimed_at` on notifications.

A claim commits on its own before the send, so a consumer that dies between the claim and
the record leaves a PENDING row behind. A redelivery re-claims it once the lease has run
out (notification_consumer/adapters/sql.py). Nullable: rows written before this revision have
none, and a PENDING one among them counts as abandoned.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("claimed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("notifications", "claimed_at")
