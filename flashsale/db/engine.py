from __future__ import annotations

from sqlalchemy import Engine, create_engine

__all__ = ["make_engine"]


def make_engine(database_url: str, pool_size: int = 5) -> Engine:
    # pre_ping: a PostgreSQL restart must cost a retry, not a dead pooled connection.
    return create_engine(
        database_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
