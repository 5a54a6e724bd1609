"""Tables. Keep them in step with the migrations in `migrations/versions`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Notification", "Order", "Outbox", "Sale"]

LIVE_ORDER = "status IN ('CREATED', 'PAID')"


class Base(DeclarativeBase):
    pass


class Sale(Base):
    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint("total_stock >= 0", name="ck_sales_total_stock"),
        # No oversell, enforced by the database whatever the code above it does.
        CheckConstraint("remaining_stock >= 0", name="ck_sales_remaining_stock_nonnegative"),
        CheckConstraint("remaining_stock <= total_stock", name="ck_sales_remaining_le_total"),
        CheckConstraint("ends_at > starts_at", name="ck_sales_window"),
        CheckConstraint("per_user_limit >= 1", name="ck_sales_per_user_limit"),
    )

    sale_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    total_stock: Mapped[int] = mapped_column(Integer)
    remaining_stock: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    per_user_limit: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="ck_orders_quantity"),
        CheckConstraint(
            "status IN ('CREATED', 'PAID', 'CANCELLED', 'FAILED')", name="ck_orders_status"
        ),
        # At most one live order per user per sale. A FAILED or CANCELLED order frees the
        # slot, so a user whose order was voided or expired may buy again.
        Index(
            "uq_orders_live_user",
            "sale_id",
            "user_id",
            unique=True,
            postgresql_where=text(LIVE_ORDER),
        ),
        Index("ix_orders_expiry", "expires_at", postgresql_where=text("status = 'CREATED'")),
        Index("ix_orders_sale_status", "sale_id", "status"),
    )

    # The order token the client received: one row per order id, ever.
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sale_id: Mapped[str] = mapped_column(String(64), ForeignKey("sales.sale_id"))
    user_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)


class Outbox(Base):
    """Events written in the same transaction as the state they describe, relayed to Kafka."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """One row per (order, kind): only its claimant sends (notification_consumer/adapters/sql.py)."""

    __tablename__ = "notifications"
    __table_args__ = (
        PrimaryKeyConstraint("order_id", "kind"),
        CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED')", name="ck_notifications_status"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'PENDING'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the current claimant took the row: a PENDING row whose lease ran out belongs
    # to a consumer that died between claim and record, and may be claimed again.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
