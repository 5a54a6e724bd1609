"""The gateway's raw ASGI edge: 429s, client identity, the edge sold-out answer, the
shared bucket's place in the order, the header and body caps."""

from __future__ import annotations

from flashsale.asgi import SoldOutFlags
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.clients import ClientKeys
from gateway.handlers import Admission
from gateway.limiter import RateLimiter
from tests.unit.gateway.fakes import (
    CountingApp,
    FakeClock,
    FakeSharedBucket,
    asgi_call,
    tallies,
    tally,
)

call = asgi_call


def edge(
    clock: FakeClock,
    client_burst: int = 2,
    trusted: list[str] | None = None,
    shared: FakeSharedBucket | None = None,
) -> tuple[RateLimiter, CountingApp]:
    app = CountingApp()
    admission = Admission(
        KeyedBuckets(Rate(1, client_burst), 1000, clock),
        GcraBucket(Rate(1000, 1000), clock),
        SoldOutFlags(1.0, clock),
        shared,
    )
    limiter = RateLimiter(app, ClientKeys(trusted or []), admission, tallies(), max_body=4096)
    return limiter, app


async def test_over_the_client_rate_is_429_with_retry_after_and_nothing_forwarded() -> None:
    app, behind = edge(FakeClock())
    assert [(await call(app))[0] for _ in range(2)] == [202, 202]
    status, headers, body = await call(app)
    assert (status, headers[b"retry-after"], body) == (429, b"1", b'{"error":"rate_limited"}')
    assert behind.calls == 2
    assert (await call(app, peer="10.0.0.2"))[0] == 202  # another client is not affected


async def test_only_api_requests_are_limited() -> None:
    app, behind = edge(FakeClock(), client_burst=1)
    for _ in range(5):
        assert (await call(app, method="GET", path="/waiting-room"))[0] == 202
    assert behind.calls == 5


async def test_forwarded_for_and_user_header_only_believed_from_trusted_proxies() -> None:
    app, _ = edge(FakeClock(), client_burst=1, trusted=["10.9.0.0/16"])
    # An untrusted peer cannot get a fresh bucket per request by inventing headers.
    assert (await call(app, peer="1.1.1.1", x_forwarded_for="7.7.7.1"))[0] == 202
    assert (await call(app, peer="1.1.1.1", x_forwarded_for="7.7.7.2"))[0] == 429
    # Behind the trusted proxy each client (right-most untrusted hop) has its own bucket.
    assert (await call(app, peer="10.9.0.5", x_forwarded_for="6.6.6.6, 2.2.2.1"))[0] == 202
    assert (await call(app, peer="10.9.0.5", x_forwarded_for="6.6.6.6, 2.2.2.2"))[0] == 202
    assert (await call(app, peer="10.9.0.5", x_forwarded_for="9.9.9.9, 2.2.2.2"))[0] == 429
    # ...and an authenticated user is keyed on the user, whatever the address.
    assert (await call(app, peer="10.9.0.5", x_authenticated_user="alice"))[0] == 202
    assert (await call(app, peer="10.9.0.6", x_authenticated_user="alice"))[0] == 429


async def test_sold_out_is_answered_at_the_edge_until_its_ttl() -> None:
    clock = FakeClock()
    app, behind = edge(clock, client_burst=100)
    app.admission.sold_out.mark("s1")
    assert (await call(app))[2] == b'{"error":"sold_out"}'
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 202  # other sales are not
    assert (await call(app, idempotency_key="k"))[0] == 202  # its stored answer may be a 202
    clock.now += 2
    assert (await call(app))[0] == 202  # expired: one request goes to ask the order service
    assert (await call(app))[0] == 409  # the others still get the edge answer meanwhile
    app.admission.sold_out.clear("s1")  # what the proxy does when the order service says so
    assert (await call(app))[0] == 202
    assert behind.calls == 4


async def test_declared_body_over_the_limit_is_413() -> None:
    app, behind = edge(FakeClock())
    assert (await call(app, content_length="999999"))[0] == 413
    assert (await call(app, content_length="-1"))[0] == 413
    assert behind.calls == 0


async def test_sold_out_answers_spend_no_tokens() -> None:
    app, behind = edge(FakeClock(), client_burst=1)
    app.admission.sold_out.mark("s1")
    for _ in range(50):  # a client hammering a sold-out sale gets the cheap answer...
        assert (await call(app))[0] == 409
    # ...and still has its one token for a sale that has stock.
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 202
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 429
    assert behind.calls == 1


async def test_the_shared_bucket_is_asked_only_after_the_local_ones_admitted() -> None:
    shared = FakeSharedBucket(2.5)
    app, behind = edge(FakeClock(), client_burst=1, shared=shared)
    status, headers, _ = await call(app)
    assert (status, headers[b"retry-after"]) == (429, b"3")  # the shared bucket's wait
    assert (await call(app))[0] == 429  # the local bucket's: Redis is not asked
    assert shared.asked == 1
    assert (await call(app, peer="10.0.0.2"))[0] == 202
    assert (shared.asked, behind.calls) == (2, 1)


async def test_headers_over_the_cap_are_431_but_only_after_the_cheap_answers() -> None:
    clock = FakeClock()
    app, behind = edge(clock, client_burst=1)
    padding = "a" * 65_536
    app.admission.sold_out.mark("s1")
    assert (await call(app, x_padding=padding))[0] == 409  # sold out: no token, no scan
    status, headers, body = await call(app, path="/api/sales/s2/orders", x_padding=padding)
    assert (status, headers[b"connection"], body) == (
        431,
        b"close",
        b'{"error":"headers_too_large"}',
    )
    assert (await call(app, path="/api/sales/s2/orders", x_padding=padding))[0] == 429
    clock.now += 10
    assert (await call(app, path="/api/sales/s2/orders", x_padding="a" * 4000))[0] == 202
    assert behind.calls == 1


async def test_each_refusal_is_counted_once_and_passing_requests_not_here() -> None:
    clock, outcomes, app = FakeClock(), tallies(), CountingApp()
    admission = Admission(
        KeyedBuckets(Rate(1, 1), 1000, clock),
        GcraBucket(Rate(1000, 1000), clock),
        SoldOutFlags(1.0, clock),
        FakeSharedBucket(0.0, 2.0),
    )
    limiter = RateLimiter(app, ClientKeys([]), admission, outcomes, max_body=4096)
    assert (await call(limiter, peer="10.0.0.1"))[0] == 202
    assert (await call(limiter, peer="10.0.0.1"))[0] == 429  # its own bucket
    assert (await call(limiter, peer="10.0.0.2"))[0] == 429  # the shared bucket
    assert (await call(limiter, peer="10.0.0.3", content_length="5000"))[0] == 413
    admission.sold_out.mark("s1")
    assert (await call(limiter, peer="10.0.0.4"))[0] == 409
    # Forwarded requests are the proxy's to count.
    assert tally(outcomes) == {"rate_limited": 2, "too_large": 1, "sold_out": 1}
