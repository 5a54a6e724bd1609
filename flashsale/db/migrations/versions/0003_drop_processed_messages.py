"""Drop `processed_messages`: no consumer ever wrote it.

Idempotency comes from unique keys on the rows themselves, written with ON CONFLICT DO
NOTHING: orders.order_id (an order's outbox rows are written only with its new row, in
the same transaction) and notifications' (order_id, kind). A table of processed ids was a
second source of truth that nothing read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("processed_messages")


def downgrade() -> None:
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
