"""PostgreSQL: the orders written so far, and `flashsale check` (blocking: in a thread)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine, func, select

from dashboard.adapters.threads import SharedThreadRead
from dashboard.sample import CheckSummary
from flashsale.check import Report
from flashsale.check_pipeline import check_pipeline
from flashsale.db.models import Order
from flashsale.settings import InfraSettings

__all__ = ["CheckStillRunning", "PipelineChecks", "SqlOrderRows", "summary_of"]


class SqlOrderRows:
    """count(*) rather than pg_stat_user_tables.n_tup_ins: the statistics reach other
    sessions up to seconds late, and the DB line must be flat, not stepped. Every order,
    or the `watched` sale's (ix_orders_sale_status)."""

    def __init__(self, engine: Engine, watched: str | None) -> None:
        query = select(func.count()).select_from(Order)
        self._engine = engine
        self._query = query if watched is None else query.where(Order.sale_id == watched)
        self._counting = SharedThreadRead(self._count)

    async def count(self) -> int:
        return await self._counting()

    def _count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(self._query).scalar_one())


def summary_of(report: Report, sale_id: str | None, at: float) -> CheckSummary:
    checks = tuple((check.name, check.ok) for check in report.checks)
    return CheckSummary(scope=sale_id or "all sales", checks=checks, at=at)


class CheckStillRunning(Exception):
    """The last check outlived its timeout and still holds its thread."""


class PipelineChecks:
    """One check at a time (a thread cannot be cancelled; see adapters/threads.py)."""

    def __init__(self, settings: InfraSettings) -> None:
        self._settings = settings
        self._running: asyncio.Future[Report] | None = None

    async def run(self, sale_id: str | None) -> CheckSummary:
        if self._running is not None and not self._running.done():
            raise CheckStillRunning
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(None, check_pipeline, self._settings, sale_id)
        report = await asyncio.shield(self._running)
        return summary_of(report, sale_id, time.time())
