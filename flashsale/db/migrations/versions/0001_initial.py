"""The initial schema: sales, orders, outbox, processed messages, notifications.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LIVE_ORDER = "status IN ('CREATED', 'PAID')"
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "sales",
        sa.Column("sale_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("total_stock", sa.Integer, nullable=False),
        sa.Column("remaining_stock", sa.Integer, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("per_user_limit", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("total_stock >= 0", name="ck_sales_total_stock"),
        sa.CheckConstraint("remaining_stock >= 0", name="ck_sales_remaining_stock_nonnegative"),
        sa.CheckConstraint("remaining_stock <= total_stock", name="ck_sales_remaining_le_total"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_sales_window"),
        sa.CheckConstraint("per_user_limit >= 1", name="ck_sales_per_user_limit"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("sale_id", sa.String(64), sa.ForeignKey("sales.sale_id"), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("quantity >= 1", name="ck_orders_quantity"),
        sa.CheckConstraint(
            "status IN ('CREATED', 'PAID', 'CANCELLED', 'FAILED')", name="ck_orders_status"
        ),
    )
    op.create_index(
        "uq_orders_live_user",
        "orders",
        ["sale_id", "user_id"],
        unique=True,
        postgresql_where=sa.text(LIVE_ORDER),
    )
    op.create_index(
        "ix_orders_expiry", "orders", ["expires_at"], postgresql_where=sa.text("status = 'CREATED'")
    )
    op.create_index("ix_orders_sale_status", "orders", ["sale_id", "status"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "notifications",
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'PENDING'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("order_id", "kind"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SENT', 'FAILED')", name="ck_notifications_status"
        ),
    )


def downgrade() -> None:
    for table in ("notifications", "processed_messages", "outbox", "orders", "sales"):
        op.drop_table(table)
