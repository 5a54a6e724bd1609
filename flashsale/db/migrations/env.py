"""Alembic environment: the URL comes from the caller's config or from InfraSettings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from flashsale.db.models import Base
from flashsale.settings import InfraSettings

config = context.config
url = config.get_main_option("sqlalchemy.url") or InfraSettings().database_url


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Two processes migrating at once (services starting together) take turns.
        connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
