"""Claim 5: the big burst. 100,000 purchase attempts from 50,000 users for 10,000 units,
through the gateway, into a pipeline the bench starts itself: a gateway and an order
service (uvicorn, pinned to one core like every bench server), and a real inventory
consumer (bootstrap(), relay on) on a topic of its own, its writes capped at WRITE_CAP/s
below the admission rate, so the lag builds during the burst and drains after it.

The burst, the lag sampler and the read-back are the demo's (`flashsale.demo`); the
invariants are the demo's plus `flashsale check` on the sale (`check_pipeline`). Reported:
the time to sell out (the burst's start to the first sold-out answer), the peak lag of
the inventory group and the drain time (the burst's end to the last order in PostgreSQL).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import text

from flashsale.check_pipeline import check_pipeline
from flashsale.db import make_engine
from flashsale.demo.burst import Answer, attempt_schedule, burst
from flashsale.demo.lag_sampler import LagSampler, inventory_lag
from flashsale.demo.orders import sale_orders, wait_for_orders
from flashsale.demo.outcome import AnswerCounts, BurstResult, DemoOutcome, DemoPlan, DrainResult
from flashsale.demo.sale import create_sale
from flashsale.demo.settings import DemoSettings
from flashsale.settings import InfraSettings
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings
from loadtests import bench_http, wrk
from loadtests.bench_results import result

__all__ = ["PLAN", "run"]

# The consumer's write cap: below the admission rate, so the lag builds and drains.
WRITE_CAP = 250
PLAN = DemoPlan(stock=10_000, attempts=100_000, users=50_000, concurrency=100, drain_timeout_s=120)


def run(infra: InfraSettings, plan: DemoPlan = PLAN) -> list[dict[str, Any]]:
    with bench_http.bench_topic(infra) as topic, ExitStack() as stack:
        settings = _start(stack, infra, topic)
        warm = f"bench-burst-warm-{uuid.uuid4().hex[:6]}"
        create_sale(settings, warm, 1)
        engine = make_engine(infra.database_url)
        try:
            tokens = {a.order_id for a in burst(settings.gateway_url, warm, [warm], 1)}
            wait_for_orders(engine, warm, {t for t in tokens if t}, 60)  # consumer joined
            outcome, sell_out_s = _burst(settings, engine, plan)
        finally:
            engine.dispose()
    return [_row(outcome, sell_out_s)]


def _start(stack: ExitStack, infra: InfraSettings, topic: str) -> DemoSettings:
    token, group = secrets.token_urlsafe(24), f"bench-burst-{uuid.uuid4().hex[:8]}"
    order_env = {**bench_http.order_env(infra, topic), "FLASHSALE_ADMIN_TOKEN": token}
    order = stack.enter_context(wrk.server("order_service.app:create_app", order_env))
    gateway_env = {
        "FLASHSALE_GATEWAY_ORDER_SERVICE_URL": order,
        "FLASHSALE_GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]',  # the burst plays the auth proxy
    }
    gateway = stack.enter_context(wrk.server("gateway.app:create_app", gateway_env))
    stack.enter_context(_consumer(infra, topic, group))
    return DemoSettings(
        gateway_url=gateway,
        order_service_url=order,
        admin_token=token,  # pydantic makes it a SecretStr
        orders_topic=topic,
        inventory_group_id=group,
        maildir=None,
        dashboard_url=None,
    )


@contextmanager
def _consumer(infra: InfraSettings, topic: str, group: str) -> Iterator[None]:
    """The consumer, relay on, its events to a topic of its own (removed afterwards)."""
    events = f"{topic}.events"
    admin = AdminClient({"bootstrap.servers": infra.kafka_bootstrap})
    admin.create_topics([NewTopic(events, num_partitions=3, replication_factor=-1)])[events].result(
        30
    )
    settings = InventoryConsumerSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        orders_topic=topic,
        order_events_topic=events,
        inventory_group_id=group,
        max_orders_per_second=WRITE_CAP,
        expiry_enabled=False,
        order_ttl_s=30 * 86_400,  # never swept by a real expiry worker sharing the DB
    )
    stop = threading.Event()
    worker = threading.Thread(target=bootstrap(settings, stop).run, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(30)
        admin.delete_topics([events])
        engine = make_engine(infra.database_url)
        with engine.begin() as conn:  # the relay is gone: leave no rows for a dead topic
            conn.execute(text("DELETE FROM outbox WHERE topic = :t"), {"t": events})
        engine.dispose()


def _burst(settings: DemoSettings, engine: Any, plan: DemoPlan) -> tuple[DemoOutcome, float]:
    sale_id = f"bench-burst-{int(time.time())}-{secrets.token_hex(2)}"
    create_sale(settings, sale_id, plan.stock)
    buyers = [f"{sale_id}-user{u}" for u in attempt_schedule(plan.attempts, plan.users)]
    sold_out_at: list[float] = []

    def on_answer(answer: Answer) -> None:
        if answer.outcome == "sold_out" and not sold_out_at:
            sold_out_at.append(time.perf_counter())

    with LagSampler(inventory_lag(settings)) as sampler:
        started = time.perf_counter()
        answers = burst(settings.gateway_url, sale_id, buyers, plan.concurrency, on_answer)
        sent = time.perf_counter()
        tokens = {a.order_id for a in answers if a.order_id is not None}
        missing = wait_for_orders(engine, sale_id, tokens, plan.drain_timeout_s)
        drain = DrainResult(len(missing), time.perf_counter() - sent, sampler.peak, sampler.samples)
    failed = [c.name for c in check_pipeline(settings, sale_id).checks if not c.ok]
    counts = AnswerCounts.of(BurstResult(answers, sent - started))
    outcome = DemoOutcome(sale_id, plan, counts, sale_orders(engine, sale_id), drain, failed)
    return outcome, (sold_out_at[0] - started) if sold_out_at else float("nan")


def _row(outcome: DemoOutcome, sell_out_s: float) -> dict[str, Any]:
    a, plan = outcome.answers, outcome.plan
    return result(
        f"big burst: {plan.attempts:,} attempts, {plan.users:,} users, {plan.stock:,} units",
        a.offered / a.burst_seconds,
        a.p50_ms,
        a.p99_ms,
        ratio=outcome.orders.orders_created / plan.stock,
        baseline="stock (orders created / units)",
        ratio_of="orders/stock",
        sell_out_s=sell_out_s,
        burst_s=a.burst_seconds,
        write_cap=WRITE_CAP,
        peak_lag=outcome.drain.peak_lag,
        drain_s=outcome.drain.drain_seconds,
        admitted=a.admitted,
        sold_out=a.sold_out,
        rate_limited=a.rate_limited,
        already_purchased=a.already_purchased,
        errors=a.errors,
        other_answers=a.other_answers,
        orders_created=outcome.orders.orders_created,
        invariants_ok=outcome.ok,
        violations=outcome.violations,
    )
