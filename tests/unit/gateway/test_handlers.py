"""The admission decision and what the order service's answers teach it, without ASGI."""

from __future__ import annotations

import pytest

from flashsale.asgi import SoldOutFlags
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.handlers import MAX_RETRY_AFTER, Admission, retry_after
from tests.unit.gateway.fakes import FakeClock, FakeSharedBucket

ORDERS = "/api/sales/s1/orders"
SOLD_OUT = b'{"error":"sold_out"}'
CLIENT = Rate(1, 2)  # 1 a second, burst 2
UNLIMITED = Rate(1000, 1000)


def admission(
    clock: FakeClock,
    client: Rate = CLIENT,
    total: Rate = UNLIMITED,
    shared: FakeSharedBucket | None = None,
) -> Admission:
    return Admission(
        KeyedBuckets(client, 1000, clock),
        GcraBucket(total, clock),
        SoldOutFlags(1.0, clock),
        shared,
    )


@pytest.mark.parametrize(
    ("wait", "seconds"), [(0.001, 1), (1.0, 1), (1.2, 2), (59.5, 60), (3600.0, MAX_RETRY_AFTER)]
)
def test_retry_after_is_whole_seconds_and_capped(wait: float, seconds: int) -> None:
    assert retry_after(wait) == seconds


def test_the_client_bucket_then_the_global_one() -> None:
    clock = FakeClock()
    edge = admission(clock, client=Rate(1, 2), total=Rate(1, 3))
    assert [edge.local_retry_after("a") for _ in range(3)] == [0, 0, 1]
    assert edge.local_retry_after("b") == 0  # its own bucket; the global one's last token
    assert edge.local_retry_after("c") == 1  # the global bucket is empty
    clock.now += 1
    assert edge.local_retry_after("c") == 0


def test_a_request_the_client_bucket_refuses_costs_no_global_token() -> None:
    edge = admission(FakeClock(), client=Rate(1, 1), total=Rate(1, 2))
    assert edge.local_retry_after("greedy") == 0
    for _ in range(100):
        assert edge.local_retry_after("greedy") == 1
    assert edge.local_retry_after("other") == 0


def test_sold_out_only_for_a_plain_purchase_of_a_flagged_sale() -> None:
    edge = admission(FakeClock())
    edge.sold_out.mark("s1")
    assert edge.is_sold_out("POST", ORDERS, [(b"content-type", b"application/json")])
    assert not edge.is_sold_out("GET", ORDERS, [])
    assert not edge.is_sold_out("POST", "/api/sales/s2/orders", [])
    assert not edge.is_sold_out("POST", "/api/orders/o1/payment", [])
    # Its stored answer may be a 202: the order service answers a retried purchase.
    assert not edge.is_sold_out("POST", ORDERS, [(b"idempotency-key", b"k")])


async def test_the_shared_bucket_is_optional_and_its_wait_is_a_retry_after() -> None:
    assert await admission(FakeClock()).shared_retry_after() == 0
    shared = FakeSharedBucket(0.0, 0.4, 120.0)
    edge = admission(FakeClock(), shared=shared)
    assert [await edge.shared_retry_after() for _ in range(3)] == [0, 1, MAX_RETRY_AFTER]


def test_a_sold_out_answer_flags_the_sale_and_a_reservation_clears_it() -> None:
    edge = admission(FakeClock())
    edge.learn("POST", ORDERS, 409, SOLD_OUT)
    assert edge.is_sold_out("POST", ORDERS, [])
    edge.learn("POST", ORDERS, 429, b'{"error":"rate_limited"}')  # says nothing of stock
    assert edge.is_sold_out("POST", ORDERS, [])
    edge.learn("POST", ORDERS, 202, b"{}")
    assert not edge.is_sold_out("POST", ORDERS, [])


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("POST", ORDERS, 409, b'{"error":"sold_out_elsewhere"}'),
        ("POST", ORDERS, 409, b"not json"),
        ("POST", ORDERS, 409, b'["sold_out"]'),
        ("GET", ORDERS, 409, SOLD_OUT),
        ("POST", "/api/orders/o1/payment", 409, SOLD_OUT),
    ],
)
def test_other_answers_flag_nothing(method: str, path: str, status: int, body: bytes) -> None:
    edge = admission(FakeClock())
    edge.learn(method, path, status, body)
    assert not edge.is_sold_out("POST", ORDERS, [])
