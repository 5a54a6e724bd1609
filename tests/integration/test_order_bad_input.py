"""No input ever yields a 5xx: garbage bodies, huge bodies, wrong types and weird ids
against the real app (real HTTP server, Redis, Kafka)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from flashsale.settings import InfraSettings
from order_service.app import create_app
from tests.asgi_server import serve
from tests.integration.order_helpers import drop_sale, new_sale, new_topic, order_settings

pytestmark = pytest.mark.integration

BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"user"',
    b"{}",
    b'{"user_id": null}',
    b'{"user_id": 7}',
    b'{"user_id": ""}',
    b'{"user_id": "u/../x"}',
    b'{"user_id": "u\\u0000x"}',
    b'{"user_id": "' + b"u" * 5000 + b'"}',
    b'{"user_id": "u1", "quantity": 0}',
    b'{"user_id": "u1", "quantity": -1}',
    b'{"user_id": "u1", "quantity": 1.5}',
    b'{"user_id": "u1", "quantity": "1"}',
    b'{"user_id": "u1", "quantity": 1e309}',
    b'{"user_id": "u1", "quantity": 100000000000000000000000000000000000}',
    b'{"user_id": "u1", "quantity": true}',
    b'{"user_id": "u1", "extra": 1}',
    b'{"user_id": ["u1"]}',
    b'{"user_id": {"$gt": ""}}',
    b"\xff\xfe\x00garbage",
    b'{"user_id": "u1"' + b" " * 10_000 + b"}",
    b"[" * 3000 + b"]" * 3000,
]
SALE_IDS = ["", "x" * 65, "..", "a%2Fb", "%00", "s p", "ünï", "a;DROP TABLE sales", "*", "a:b"]


async def chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_no_input_yields_a_5xx(infra: InfraSettings, redis: Redis) -> None:
    sale_id = await new_sale(redis, stock=1000)
    topic = new_topic(infra.kafka_bootstrap, "fuzz")
    seen: dict[int, int] = {}
    async with (
        serve(create_app(order_settings(infra, topic))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):

        async def check(method: str, path: str, **kw: object) -> None:
            answer = await client.request(method, path, **kw)  # type: ignore[arg-type]
            seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
            assert answer.status_code < 500, (method, path, kw, answer.text[:200])

        json_header = {"content-type": "application/json"}
        for body in BODIES:
            await check("POST", f"/api/sales/{sale_id}/orders", content=body, headers=json_header)
            await check("POST", f"/api/sales/{sale_id}/orders", content=body)
        for weird in SALE_IDS:
            await check("POST", f"/api/sales/{weird}/orders", json={"user_id": "u1"})
            await check("GET", f"/api/orders/{weird}")
        await check("POST", f"/api/sales/{sale_id}/orders", content=b"x" * 2_000_000)
        await check(
            "POST",
            f"/api/sales/{sale_id}/orders",
            content=chunks([b'{"user_id": "', b"u" * 100_000, b'"}']),  # chunked, no length
        )
        for key in ["", "k" * 200, "a b", "\xfc".encode("latin-1")]:
            await check(
                "POST",
                f"/api/sales/{sale_id}/orders",
                json={"user_id": "u2"},
                headers={"Idempotency-Key": key},
            )
        for path in (f"/api/sales/{sale_id}/orders", "/api/orders/not-a-uuid"):  # 65 KB header
            await check("POST", path, json={"user_id": "u3"}, headers={"X-Pad": "a" * 65_536})
        await check("POST", "/admin/sales", json={"name": "x"})
        await check("POST", "/admin/sales", json={}, headers={"Authorization": "Bearer wrong"})
        await check("GET", "/api/orders/00000000-0000-0000-0000-000000000000")
        # Random mutations of a valid body: types, lengths and bytes flipped at random.
        rng = random.Random(1234)
        for _ in range(200):
            body = bytearray(b'{"user_id": "u-fuzz", "quantity": 1}')
            for _ in range(rng.randint(1, 4)):
                body[rng.randrange(len(body))] = rng.randrange(256)
            await check(
                "POST", f"/api/sales/{sale_id}/orders", content=bytes(body), headers=json_header
            )
    assert seen.get(422, 0) > 50 and seen.get(413, 0) >= 2  # the refusals were the expected kinds
    assert seen.get(431) == 2
    await drop_sale(redis, sale_id)
