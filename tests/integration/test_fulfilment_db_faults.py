"""Issue 7, item 1: a database that misbehaves on a live connection loses no admitted order.
Each fault is scoped to this test's consumer (its own login role or application_name), so
the tests running next to it on the same server see none of it.

- a read-only window (a failover to a replica) while 100 orders drain;
- deadlocks in which the consumer is the victim, again and again, during a drain;
- lock timeouts while another transaction holds the sale's row, during a drain.

Each ends with every order CREATED exactly once, no FAILED row, nothing in the DLQ.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from flashsale.contracts import OrderPlaced
from flashsale.settings import InfraSettings
from inventory_consumer.settings import InventoryConsumerSettings
from tests.fulfilment_helpers import (
    create_sale,
    inventory_settings,
    placed,
    produce_orders,
    reserve_in_redis,
    running_inventory,
    scalar,
    session_url,
    terminate_sessions,
)
from tests.kafka_helpers import read_topic
from tests.polling import TimedOut, eventually
from tests.random_refs import suffix

pytestmark = pytest.mark.integration

ORDERS, STOCK = 100, 150
CREATED = "SELECT count(*) FROM orders WHERE sale_id = :s AND status = 'CREATED'"


@contextmanager
def consumer_role(engine: Engine) -> Iterator[str]:
    """A login role of the consumer's own, with every privilege of the flashsale role."""
    role = f"test_consumer_{suffix()}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN IN ROLE flashsale'))
    try:
        yield role
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP ROLE "{role}"'))


def set_read_only(engine: Engine, role: str, app: str, on: bool) -> None:
    """Sessions read their role's settings when they start: set, then drop the sessions."""
    action = (
        "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    )
    with engine.begin() as conn:
        conn.execute(text(f'ALTER ROLE "{role}" {action}'))
    terminate_sessions(engine, app)


def admitted_orders(
    engine: Engine, infra: InfraSettings, redis_client: redis.Redis, name: str
) -> tuple[str, list[OrderPlaced]]:
    sale_id = create_sale(engine, infra, STOCK, name)
    orders = [placed(sale_id) for _ in range(ORDERS)]
    reserve_in_redis(redis_client, sale_id, orders)  # what the order service did: 202s
    return sale_id, orders


def assert_all_created_once(
    engine: Engine, infra: InfraSettings, settings: InventoryConsumerSettings, sale_id: str
) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, count(*) FROM orders WHERE sale_id = :s GROUP BY status"),
            {"s": sale_id},
        ).all()
    assert dict(rows) == {"CREATED": ORDERS}  # no FAILED row, no order missing
    remaining = scalar(engine, "SELECT remaining_stock FROM sales WHERE sale_id = :s", s=sale_id)
    assert remaining == STOCK - ORDERS  # each order took its unit exactly once
    assert read_topic(infra.kafka_bootstrap, settings.dlq_topic, 0, timeout=3) == []


def drain(engine: Engine, sale_id: str, timeout_s: float = 60) -> float:
    """Seconds until every order is CREATED; on timeout, the assertions that follow say
    which orders are missing or FAILED."""
    started = time.monotonic()
    with contextlib.suppress(AssertionError):
        eventually(lambda: scalar(engine, CREATED, s=sale_id) >= ORDERS, timeout_s, "orders")
    return time.monotonic() - started


def failed_attempts(caplog: pytest.LogCaptureFixture, needle: str) -> int:
    return sum(1 for r in caplog.records if r.name == "flashsale.retry" and needle in r.message)


def orders_for_a_tuned_consumer(
    infra: InfraSettings, engine: Engine, redis_client: redis.Redis, name: str, **session: str
) -> tuple[str, str, InventoryConsumerSettings]:
    """Admitted orders on a topic of their own, and the settings of a consumer (small
    batches, one partition) whose PostgreSQL sessions have `session` set and are named
    by the application name returned."""
    sale_id, orders = admitted_orders(engine, infra, redis_client, name)
    app = f"test-{name}-{suffix()}"
    url = session_url(infra.database_url, app, **session)
    settings = inventory_settings(
        infra, partitions=1, database_url=url, batch_max_messages=8, max_attempts=3
    )
    produce_orders(infra.kafka_bootstrap, settings.orders_topic, orders)
    return sale_id, app, settings


def test_a_read_only_window_mid_drain_loses_no_order(
    infra: InfraSettings,
    engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flashsale.retry")
    sale_id, orders = admitted_orders(engine, infra, redis_client, "readonly")
    app = f"test-ro-{suffix()}"
    with consumer_role(engine) as role:
        # Throttled, so the drain lasts long enough for the failover to land in it.
        settings = inventory_settings(
            infra, database_url=session_url(infra.database_url, app, role), max_orders_per_second=15
        )
        produce_orders(infra.kafka_bootstrap, settings.orders_topic, orders)
        with running_inventory(settings):
            eventually(lambda: scalar(engine, CREATED, s=sale_id) >= 15, 30, "the drain started")
            set_read_only(engine, role, app, on=True)
            before = scalar(engine, CREATED, s=sale_id)
            time.sleep(10)
            during = scalar(engine, CREATED, s=sale_id) - before
            set_read_only(engine, role, app, on=False)
            drained_s = drain(engine, sale_id)
    refused = failed_attempts(caplog, "read-only transaction")
    print(f"read-only 10 s: {before} created before, {during} during, {refused} refused "
          f"attempts, the rest drained in {drained_s:.1f} s after")  # fmt: skip
    assert during == 0 and refused > 0  # the window was real: the consumer hit it
    assert_all_created_once(engine, infra, settings, sale_id)


def test_repeated_deadlocks_during_a_drain_lose_no_order(
    infra: InfraSettings,
    engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flashsale.retry")
    # The consumer's deadlock check runs first (100 ms): it is the victim every time.
    sale_id, app, settings = orders_for_a_tuned_consumer(
        infra, engine, redis_client, "deadlock", deadlock_timeout="100ms"
    )
    with running_inventory(settings):
        deadlocks = Deadlocker(engine, app, sale_id).run(target=25, within_s=60)
        drained_s = drain(engine, sale_id)
    seen = failed_attempts(caplog, "deadlock detected")
    print(f"deadlocks: {deadlocks} made, {seen} seen by the consumer, "
          f"the rest drained in {drained_s:.1f} s after")  # fmt: skip
    assert deadlocks >= 25 and seen >= 25
    assert_all_created_once(engine, infra, settings, sale_id)


class Deadlocker:
    """Closes a lock cycle with the consumer's transaction, over and over.

    It holds FOR SHARE on the sale's row: the consumer's INSERT takes FOR KEY SHARE (the
    foreign key), then its stock UPDATE waits behind us. We then ask FOR UPDATE, which
    waits behind its KEY SHARE: a cycle, and the consumer's check finds it first.
    """

    WAITING = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"
        " AND wait_event_type = 'Lock' AND query LIKE '%UPDATE sales%'"
    )

    def __init__(self, engine: Engine, app: str, sale_id: str) -> None:
        self._engine = engine
        self._app = app
        self._sale = {"s": sale_id}

    def run(self, target: int, within_s: float) -> int:
        made, deadline = 0, time.monotonic() + within_s
        while made < target and time.monotonic() < deadline:
            made += self._one()
        return made

    def _one(self) -> int:
        with self._engine.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL deadlock_timeout = '10s'"))
            conn.execute(text("SELECT 1 FROM sales WHERE sale_id = :s FOR SHARE"), self._sale)
            if not self._consumer_waits():
                return 0
            try:
                conn.execute(text("SELECT 1 FROM sales WHERE sale_id = :s FOR UPDATE"), self._sale)
            except OperationalError:  # we were the victim after all: not counted
                return 0
            return 1

    def _consumer_waits(self, timeout_s: float = 5.0) -> bool:
        try:
            eventually(
                lambda: scalar(self._engine, self.WAITING, a=self._app), timeout_s, every_s=0.01
            )
        except TimedOut:
            return False
        return True


def test_lock_timeouts_during_a_drain_lose_no_order(
    infra: InfraSettings,
    engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flashsale.retry")
    sale_id, _, settings = orders_for_a_tuned_consumer(
        infra, engine, redis_client, "locktimeout", lock_timeout="200ms"
    )
    with running_inventory(settings):
        eventually(lambda: scalar(engine, CREATED, s=sale_id) >= 8, 30, "the drain started")
        with engine.connect() as conn, conn.begin():  # another writer holds the sale's row
            conn.execute(text("SELECT 1 FROM sales WHERE sale_id = :s FOR UPDATE"), {"s": sale_id})
            before = scalar(engine, CREATED, s=sale_id)
            time.sleep(8)
            during = scalar(engine, CREATED, s=sale_id) - before
        drained_s = drain(engine, sale_id)
    timeouts = failed_attempts(caplog, "lock timeout")
    print(f"row locked 8 s: {timeouts} lock timeouts, {during} created meanwhile, "
          f"the rest drained in {drained_s:.1f} s after")  # fmt: skip
    assert during == 0 and timeouts >= 10  # the lock was real: the consumer hit it
    assert_all_created_once(engine, infra, settings, sale_id)
