"""`python -m loadtests.bench_producer_bridge`: the order service's producer bridge
(flashsale/async_producer.py) against confluent-kafka's own asyncio producer
(`confluent_kafka.aio.AIOProducer`), in the shape admission needs.

Fifty concurrent senders each produce one message and await its acknowledgement, then
the next, for a few seconds: every buyer awaits its own order's ack. Same broker, same
producer settings (acks=all, idempotent, linger 1 ms), same topic of 12 partitions, run
one after the other in one process on CPU 1 if `taskset` pins it. Printed: messages
acknowledged per second, process CPU per message, and the latency of one produce.

AIOProducer buffers messages in Python and hands them to librdkafka when its buffer
holds `batch_size` or has been idle for `buffer_timeout` (checked at most every 100 ms):
built for throughput, each message waits for its buffer. Its defaults (1,000 messages, 1 s) and a setting tuned for
request/response (50 messages, 1 ms) are both measured.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvloop
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.aio import AIOProducer

from flashsale.async_producer import AsyncProducer
from flashsale.kafka import producer_config
from flashsale.settings import InfraSettings

__all__ = ["main"]

SENDERS = 50
SECONDS = 5.0
VALUE = b"x" * 300  # about an OrderPlaced's size
Send = Callable[[int], Awaitable[Any]]


def config(bootstrap: str) -> dict[str, Any]:
    return producer_config(bootstrap, "bench-producer-bridge", **{"linger.ms": 1})


async def ours(bootstrap: str, topic: str) -> str:
    producer = AsyncProducer(config(bootstrap))
    try:
        return await drive(lambda i: producer.produce(topic, f"u{i}", VALUE))
    finally:
        producer.close(5.0)


async def aio(bootstrap: str, topic: str, batch_size: int, buffer_timeout: float) -> str:
    producer = AIOProducer(config(bootstrap), batch_size=batch_size, buffer_timeout=buffer_timeout)

    async def send(i: int) -> Any:
        return await (await producer.produce(topic, VALUE, f"u{i}"))

    try:
        return await drive(send)
    finally:
        await producer.close()


async def drive(send: Send) -> str:
    await send(-1)  # connection and producer id before the clock starts
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def sender(first: int) -> None:
        i = first
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await send(i)
            latencies.append(time.perf_counter() - started)
            i += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(sender(n * 10_000_000) for n in range(SENDERS)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return (
        f"{len(latencies) / wall:>9,.0f} acks/s  {cpu / len(latencies) * 1e6:6.1f} us CPU/msg"
        f"  p50 {p50 * 1e3:7.1f} ms  p99 {p99 * 1e3:7.1f} ms"
    )


def main() -> None:
    bootstrap = InfraSettings().kafka_bootstrap
    topic = f"bench.bridge.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=-1)])[topic].result()
    cases: dict[str, Callable[[], Coroutine[Any, Any, str]]] = {
        "flashsale AsyncProducer": lambda: ours(bootstrap, topic),
        "AIOProducer, 50 msgs / 1 ms": lambda: aio(bootstrap, topic, 50, 0.001),
        "AIOProducer, defaults (1000 / 1 s)": lambda: aio(bootstrap, topic, 1000, 1.0),
    }
    try:
        for name, case in cases.items():
            print(f"{name:<36}{uvloop.run(case())}", flush=True)
    finally:
        admin.delete_topics([topic])


if __name__ == "__main__":
    main()
