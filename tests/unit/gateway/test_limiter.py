"""The gateway's raw ASGI edge: 429s, client identity, the edge sold-out answer, the
header cap; and the identity the proxy vouches for to the order service."""

from __future__ import annotations

from typing import Any

from flashsale.asgi import SoldOutFlags
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.clients import ClientKeys
from gateway.forward import UpstreamReply
from gateway.limiter import RateLimiter
from gateway.proxy import ApiProxy
from tests.unit.order_service.fakes import FakeClock


class Upstream:
    """The app behind the edge: counts what got through."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def edge(
    clock: FakeClock, client_burst: int = 2, trusted: list[str] | None = None
) -> tuple[RateLimiter, Upstream]:
    upstream = Upstream()
    return (
        RateLimiter(
            upstream,
            ClientKeys(trusted or []),
            KeyedBuckets(Rate(1, client_burst), 1000, clock),
            GcraBucket(Rate(1000, 1000), clock),
            SoldOutFlags(1.0, clock),
            max_body=4096,
        ),
        upstream,
    )


async def call(
    app: RateLimiter, peer: str = "10.0.0.1", path: str = "/api/sales/s1/orders", **headers: str
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "client": (peer, 5555),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


async def test_over_the_client_rate_is_429_with_retry_after_and_nothing_forwarded() -> None:
    app, upstream = edge(FakeClock())
    assert [(await call(app))[0] for _ in range(2)] == [202, 202]
    status, headers, body = await call(app)
    assert (status, headers[b"retry-after"], body) == (429, b"1", b'{"error":"rate_limited"}')
    assert upstream.calls == 2
    assert (await call(app, peer="10.0.0.2"))[0] == 202  # another client is not affected


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
    app, upstream = edge(clock, client_burst=100)
    app.sold_out.mark("s1")
    assert (await call(app))[2] == b'{"error":"sold_out"}'
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 202  # other sales are not
    assert (await call(app, idempotency_key="k"))[0] == 202  # its stored answer may be a 202
    clock.now += 2
    assert (await call(app))[0] == 202  # expired: one request goes to ask the order service
    assert (await call(app))[0] == 409  # the others still get the edge answer meanwhile
    app.sold_out.clear("s1")  # what the app does when the order service says otherwise
    assert (await call(app))[0] == 202
    assert upstream.calls == 4


async def test_declared_body_over_the_limit_is_413() -> None:
    app, upstream = edge(FakeClock())
    assert (await call(app, content_length="999999"))[0] == 413
    assert (await call(app, content_length="-1"))[0] == 413
    assert upstream.calls == 0


async def test_sold_out_answers_spend_no_tokens() -> None:
    clock = FakeClock()
    app, upstream = edge(clock, client_burst=1)
    app.sold_out.mark("s1")
    for _ in range(50):  # a client hammering a sold-out sale gets the cheap answer...
        assert (await call(app))[0] == 409
    # ...and still has its one token for a sale that has stock.
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 202
    assert (await call(app, path="/api/sales/s2/orders"))[0] == 429
    assert upstream.calls == 1


async def test_headers_over_the_cap_are_431_but_only_after_the_cheap_answers() -> None:
    clock = FakeClock()
    app, upstream = edge(clock, client_burst=1)
    padding = "a" * 65_536
    app.sold_out.mark("s1")
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
    assert upstream.calls == 1


class RecordingUpstream:
    """gateway.forward.Upstream as the proxy sees it: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, str], str | None]] = []

    async def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str], user: str | None
    ) -> UpstreamReply:
        self.sent.append((headers, user))
        return UpstreamReply(202, b"{}", {})


async def through_proxy(
    trusted: list[str], peer: str, user: str
) -> tuple[dict[str, str], str | None]:
    upstream = RecordingUpstream()
    proxy = ApiProxy(upstream, SoldOutFlags(1.0), 4096, 1, ClientKeys(trusted))  # type: ignore[arg-type]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/sales/s1/orders",
        "raw_path": b"/api/sales/s1/orders",
        "query_string": b"",
        "client": (peer, 5555),
        "headers": [(b"x-authenticated-user", user.encode()), (b"idempotency-key", b"k")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await proxy(scope, receive, send)
    [(headers, forwarded_user)] = upstream.sent
    return headers, forwarded_user


async def test_the_identity_is_vouched_for_only_when_a_trusted_proxy_set_it() -> None:
    headers, user = await through_proxy(["10.9.0.0/16"], "10.9.0.5", "alice")
    assert user == "alice" and headers == {"idempotency-key": "k"}
    # Anyone else's header is dropped: never forwarded, whatever it says.
    for trusted in (["10.9.0.0/16"], []):
        headers, user = await through_proxy(trusted, "1.1.1.1", "alice")
        assert user is None and "x-authenticated-user" not in headers
