"""A fatal error of the idempotent producer: noticed, the producer replaced, health says so.

A hand-written fake stands in for confluent_kafka.Producer (the factory AsyncProducer
takes): it queues messages, acknowledges them from poll(), and can die the way librdkafka
does: a fatal error through `error_cb`, then every produce refused.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException

from flashsale.async_producer import AsyncProducer, DeliveryFailed
from order_service.adapters.publisher import KafkaOrderPublisher
from order_service.app import create_app
from tests.polling import eventually_async
from tests.unit.order_service.fakes import fake_services

Report = Callable[[KafkaError | None, Any], None]


class FakeProducer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.acking = True  # False: messages wait in the queue, as with a slow broker
        self.dead = False
        self.queued: list[Report] = []
        self.errors: list[KafkaError] = []  # served to error_cb by the next poll
        # The poll thread's "acking? then report" and the test's hold() must not
        # interleave, or a message produced right after hold() is still acknowledged.
        self.lock = threading.Lock()

    def hold(self) -> None:
        """From now on, messages wait in the queue, as with a slow broker."""
        with self.lock:
            self.acking = False

    def die(self, through_error_cb: bool = True) -> None:
        self.dead = True
        if through_error_cb:
            self.errors.append(KafkaError(KafkaError._FATAL, "fenced (fake)", fatal=True))

    def produce(self, topic: str, value: bytes, key: str, **kw: Any) -> None:
        if self.dead:
            raise KafkaException(KafkaError(KafkaError._FATAL, "fatal error (fake)"))
        with self.lock:
            self.queued.append(kw["on_delivery"])

    def poll(self, timeout: float) -> int:
        while self.errors:
            self.config["error_cb"](self.errors.pop(0))
        with self.lock:
            if self.acking and not self.dead:
                self._report(None)
        time.sleep(min(timeout, 0.005))
        return 0

    def purge(self) -> None:
        self.acking = False  # what is queued is reported as purged by the flush

    def flush(self, timeout: float = 0) -> int:
        self._report(KafkaError(KafkaError._PURGE_QUEUE))
        return 0

    def _report(self, err: KafkaError | None) -> None:
        while self.queued:
            self.queued.pop(0)(err, "message")


class Factory:
    """Makes FakeProducers; every one after the first waits for `allow_more` (or not)."""

    def __init__(self) -> None:
        self.made: list[FakeProducer] = []
        self.allow_more = threading.Event()

    def __call__(self, config: dict[str, Any]) -> FakeProducer:
        if self.made:
            self.allow_more.wait(5)
        self.made.append(FakeProducer(config))
        return self.made[-1]


# The producer's poll thread flips these flags within milliseconds.
until = functools.partial(eventually_async, within_s=5, every_s=0.005)


@pytest.fixture
def factory() -> Factory:
    return Factory()


async def test_a_fatal_error_fails_the_queued_produces_and_a_new_producer_takes_over(
    factory: Factory,
) -> None:
    producer = AsyncProducer({"client.id": "t"}, factory)  # type: ignore[arg-type]
    try:
        assert await producer.produce("t", "k", b"v1") == "message"
        first = factory.made[0]
        first.hold()
        in_flight = asyncio.create_task(producer.produce("t", "k", b"v2"))
        await until(lambda: bool(first.queued))
        first.die()
        await until(lambda: not producer.healthy)  # noticed, the new one not yet made
        with pytest.raises(DeliveryFailed):
            await producer.produce("t", "k", b"v3")  # the dead client refuses
        factory.allow_more.set()
        with pytest.raises(DeliveryFailed):  # purged: the caller answers 503 and voids it
            await asyncio.wait_for(in_flight, 5)
        await until(lambda: producer.healthy)
        assert len(factory.made) == 2
        assert await producer.produce("t", "k", b"v4") == "message"  # the new client
        assert factory.made[1].config["client.id"] == "t"
    finally:
        producer.close(1.0)


async def test_a_produce_refused_with_a_fatal_error_replaces_the_producer_too(
    factory: Factory,
) -> None:
    factory.allow_more.set()
    producer = AsyncProducer({}, factory)  # type: ignore[arg-type]
    try:
        factory.made[0].die(through_error_cb=False)  # no error_cb: only produce() tells
        with pytest.raises(DeliveryFailed):
            await producer.produce("t", "k", b"v")
        await until(lambda: len(factory.made) == 2 and producer.healthy)
        assert await producer.produce("t", "k", b"v") == "message"
    finally:
        producer.close(1.0)


async def test_healthz_is_503_degraded_while_the_producer_is_dead(factory: Factory) -> None:
    services = fake_services()
    producer = AsyncProducer({}, factory)  # type: ignore[arg-type]
    services.deps.publisher = KafkaOrderPublisher(producer, "t")
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            factory.made[0].die()
            await until(lambda: not producer.healthy)
            degraded = await client.get("/healthz")
            assert degraded.status_code == 503 and degraded.headers["retry-after"] == "1"
            assert degraded.json()["status"] == "degraded"
            factory.allow_more.set()
            await until(lambda: producer.healthy)
            assert (await client.get("/healthz")).status_code == 200
    finally:
        producer.close(1.0)


async def test_an_abandoned_producer_is_freed_by_reference_counting_alone() -> None:
    """No cycle through its error callback: the services freeze their startup heap
    (flashsale/process.py), so a client in a cycle would never be collected."""
    made: list[weakref.ref[FakeProducer]] = []

    def factory(config: dict[str, Any]) -> FakeProducer:
        fake = FakeProducer(config)
        made.append(weakref.ref(fake))
        return fake

    gc.disable()
    producer = AsyncProducer({"client.id": "t"}, factory)  # type: ignore[arg-type]
    try:
        first = made[0]()
        assert first is not None
        first.die()
        del first
        await until(lambda: len(made) == 2 and producer.healthy)
        assert made[0]() is None
    finally:
        gc.enable()
        producer.close(1.0)
