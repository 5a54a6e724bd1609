"""The DB schema (SQLAlchemy 2.0 models), its Alembic migrations and the engine factory.

The invariants live in constraints, so the database itself refuses a violation:
stock never below zero, one live order per user per sale, one row per order id.
"""

from flashsale.db.engine import make_engine
from flashsale.db.migrate import upgrade
from flashsale.db.models import Base, Notification, Order, Outbox, Sale

__all__ = [
    "Base",
    "Notification",
    "Order",
    "Outbox",
    "Sale",
    "make_engine",
    "upgrade",
]
