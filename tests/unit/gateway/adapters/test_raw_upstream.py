"""RawUpstream against a tiny real HTTP/1.1 server on loopback, scripted per request:
what goes on the wire, what comes back, and when a connection is (not) used again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from gateway.adapters import raw_upstream
from gateway.adapters.raw_upstream import RawUpstream
from gateway.ports import UpstreamDown
from gateway.settings import GatewaySettings
from tests.net import free_port
from tests.polling import eventually_async
from tests.random_refs import random_user_id

ORDERS = "/api/sales/s1/orders"


@dataclass
class Seen:
    connection: int  # 1 for the first connection the server accepted, and so on
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


# What the server does with a request: the bytes to answer, or None to close silently.
Behaviour = Callable[[Seen], Awaitable[bytes | None]]


def reply(status: int = 200, body: bytes = b'{"ok":true}', *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def ok(_: Seen) -> bytes:
    return reply()


class TinyServer:
    """Reads requests (Content-Length bodies) and answers what `behave` says."""

    def __init__(self, behave: Behaviour = ok) -> None:
        self.behave = behave
        self.seen: list[Seen] = []
        self.accepted = 0
        self.open_now = self.most_open = 0
        self.close_after_reply = False  # hang up once a reply is out, without saying so

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await self.converse(reader, writer, self.accepted)
        except ConnectionError:
            pass  # the client gave up on this connection (a timeout, a cancellation)
        finally:
            self.open_now -= 1
            writer.close()

    async def converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        while (request := await read_request(reader, number)) is not None:
            self.seen.append(request)
            answer = await self.behave(request)
            if answer is None:
                return
            writer.write(answer)
            await writer.drain()
            if self.close_after_reply or b"connection: close" in answer.lower():
                return


async def read_request(reader: asyncio.StreamReader, connection: int) -> Seen | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    line, *fields = head.decode("latin-1").split("\r\n")[:-2]
    method, target, _ = line.split(" ")
    headers = {k.lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Seen(connection, method, target, headers, body)


@asynccontextmanager
async def serving(
    behave: Behaviour = ok, **overrides: object
) -> AsyncIterator[tuple[TinyServer, RawUpstream]]:
    tiny = TinyServer(behave)
    server = await asyncio.start_server(tiny.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    values: dict[str, object] = {"order_service_url": f"http://127.0.0.1:{port}", **overrides}
    upstream = RawUpstream(GatewaySettings(**values))  # type: ignore[arg-type]
    await upstream.start()
    try:
        async with server:
            yield tiny, upstream
    finally:
        await upstream.aclose()


async def test_sequential_requests_share_one_kept_alive_connection() -> None:
    async with serving() as (tiny, upstream):
        for n in range(3):
            body = f'{{"user_id":"u{n}"}}'.encode()
            got = await upstream.forward("POST", ORDERS, body, {"content-type": "x/y"})
            assert (got.status, got.body) == (200, b'{"ok":true}')
        assert tiny.accepted == 1
        assert [s.body for s in tiny.seen] == [
            b'{"user_id":"u0"}',
            b'{"user_id":"u1"}',
            b'{"user_id":"u2"}',
        ]
        assert tiny.seen[0].headers["host"].startswith("127.0.0.1:")


async def test_only_the_listed_headers_cross_and_the_identity_comes_from_user_alone() -> None:
    async def answer(_: Seen) -> bytes:
        extra = ("content-type: application/json", "retry-after: 3", "set-cookie: a=b", "x-x: y")
        return reply(409, b"{}", *extra)

    async with serving(answer) as (tiny, upstream):
        client = {"content-type": "application/json", "idempotency-key": "k1"}
        client |= {"x-authenticated-user": "mallory", "cookie": "c=d", "x-forwarded-for": "1.2.3.4"}
        buyer = random_user_id()
        vouched = await upstream.forward("POST", ORDERS, b"{}", client, buyer)
        await upstream.forward("GET", "/api/orders/o1?x=%20y", b"", client)
    assert vouched.headers == {"content-type": "application/json", "retry-after": "3"}
    first, second = tiny.seen
    sent = {"content-type", "idempotency-key", "host", "content-length"}
    assert first.headers.keys() == sent | {"x-authenticated-user"}
    assert first.headers["x-authenticated-user"] == buyer
    assert second.headers.keys() == sent - {"content-length"}  # a GET with no body
    assert second.target == "/api/orders/o1?x=%20y"  # already quoted: sent as it is


async def test_a_chunked_reply_is_read_whole() -> None:
    async def chunked(_: Seen) -> bytes:
        return b'HTTP/1.1 202 A\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'

    async with serving(chunked) as (tiny, upstream):
        for _ in range(2):
            got = await upstream.forward("POST", ORDERS, b"{}", {})
            assert (got.status, got.body) == (202, b'{"a":1}')
        assert tiny.accepted == 1  # the end of the chunks is the end of the reply


async def test_a_reply_without_length_ends_with_the_connection() -> None:
    async def unframed(_: Seen) -> bytes:
        return b"HTTP/1.1 200 A\r\ncontent-type: text/plain\r\n\r\nall of it"

    async with serving(unframed) as (tiny, upstream):
        tiny.close_after_reply = True
        got = await upstream.forward("GET", ORDERS, b"", {})
        assert (got.status, got.body, got.headers) == (
            200,
            b"all of it",
            {"content-type": "text/plain"},
        )


async def test_a_head_reply_ends_with_its_headers() -> None:
    async def head(_: Seen) -> bytes:
        return b"HTTP/1.1 200 A\r\ncontent-length: 11\r\n\r\n"  # the length a GET would get

    async with serving(head) as (_, upstream):
        got = await asyncio.wait_for(upstream.forward("HEAD", ORDERS, b"", {}), 5)
        assert (got.status, got.body) == (200, b"")


async def test_requests_out_when_the_pool_closes_do_not_leave_connections_open() -> None:
    release = asyncio.Event()

    async def held(_: Seen) -> bytes:
        await release.wait()
        return reply()

    async with serving(held) as (tiny, upstream):
        call = asyncio.create_task(upstream.forward("POST", ORDERS, b"{}", {}))
        await eventually_async(lambda: tiny.seen, 5, "the request at the server")
        await upstream.aclose()  # shutdown while a request is out: it still gets its reply
        release.set()
        assert (await call).status == 200
        await eventually_async(lambda: tiny.open_now == 0, 5, "its connection closed")


async def test_a_connection_the_server_closes_is_never_used_again() -> None:
    async def close_every_other(seen: Seen) -> bytes:
        return reply(200, b"{}", "connection: close") if len(seen_by_now) % 2 else reply()

    async with serving(close_every_other) as (tiny, upstream):
        seen_by_now = tiny.seen
        for _ in range(4):
            assert (await upstream.forward("POST", ORDERS, b"{}", {})).status == 200
        # Replies 1 and 3 said close: requests 2 and 4 each went on a fresh connection.
        assert [s.connection for s in tiny.seen] == [1, 2, 2, 3]


async def test_an_idle_connection_the_server_closed_is_dropped_not_written_to() -> None:
    async with serving() as (tiny, upstream):
        tiny.close_after_reply = True
        await upstream.forward("POST", ORDERS, b"{}", {})
        await eventually_async(lambda: tiny.open_now == 0, 5, "the server's idle close")
        await asyncio.sleep(0.05)  # the close reaches the gateway's side too
        tiny.close_after_reply = False
        # A POST is never retried blind: this one works because the dead connection
        # was dropped before anything was written to it.
        assert (await upstream.forward("POST", ORDERS, b"{}", {})).status == 200
        assert [s.connection for s in tiny.seen] == [1, 2]


async def test_an_idle_connection_near_the_keep_alive_limit_is_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(raw_upstream, "KEEPALIVE_S", 0.05)
    async with serving() as (tiny, upstream):
        await upstream.forward("POST", ORDERS, b"{}", {})
        await asyncio.sleep(0.1)
        await upstream.forward("POST", ORDERS, b"{}", {})
        assert [s.connection for s in tiny.seen] == [1, 2]
        await eventually_async(lambda: tiny.open_now == 1, 5, "the expired one closed")


@pytest.mark.parametrize(
    ("method", "headers", "retried"),
    [("GET", {}, True), ("POST", {"idempotency-key": "k"}, True), ("POST", {}, False)],
)
async def test_a_reused_connection_dead_before_the_reply_is_retried_only_when_harmless(
    method: str, headers: dict[str, str], retried: bool
) -> None:
    async def hang_up_on_a_reused_connection(seen: Seen) -> bytes | None:
        first_on_its_connection = [s.connection for s in tiny.seen].count(seen.connection) == 1
        return reply() if first_on_its_connection else None

    async with serving(hang_up_on_a_reused_connection) as (tiny, upstream):
        await upstream.forward(method, ORDERS, b"", {})  # warms connection 1
        if retried:
            assert (await upstream.forward(method, ORDERS, b"", headers)).status == 200
            assert [s.connection for s in tiny.seen] == [1, 1, 2]
        else:  # it reached the server, which may have acted on it: not sent twice
            with pytest.raises(UpstreamDown, match="DeadBeforeReply"):
                await upstream.forward(method, ORDERS, b"", headers)
            assert [s.connection for s in tiny.seen] == [1, 1]


async def test_a_fresh_connection_dead_before_the_reply_is_never_retried() -> None:
    async def hang_up(_: Seen) -> None:
        return None

    async with serving(hang_up) as (tiny, upstream):
        with pytest.raises(UpstreamDown):
            await upstream.forward("GET", ORDERS, b"", {})
        assert len(tiny.seen) == 1


async def test_a_silent_server_is_upstream_down_after_the_read_timeout() -> None:
    release = asyncio.Event()

    async def silent(_: Seen) -> bytes:
        await release.wait()
        return reply()

    async with serving(silent, upstream_read_timeout_s=0.2) as (tiny, upstream):
        start = time.monotonic()
        with pytest.raises(UpstreamDown, match="TimeoutError"):
            await upstream.forward("POST", ORDERS, b"{}", {})
        assert 0.2 <= time.monotonic() - start < 1.0
        release.set()  # its late reply must not be read as the next one's
        await upstream.forward("POST", ORDERS, b"{}", {})
        assert [s.connection for s in tiny.seen] == [1, 2]


async def test_a_refused_connect_is_upstream_down() -> None:
    settings = GatewaySettings(order_service_url=f"http://127.0.0.1:{free_port()}")
    upstream = RawUpstream(settings)
    await upstream.start()
    with pytest.raises(UpstreamDown):
        await upstream.forward("POST", ORDERS, b"{}", {})
    await upstream.aclose()


async def test_the_pool_never_holds_more_connections_than_its_bound() -> None:
    release = asyncio.Event()

    async def held(_: Seen) -> bytes:
        await release.wait()
        return reply()

    async with serving(held, upstream_max_connections=2) as (tiny, upstream):
        calls = [asyncio.create_task(upstream.forward("POST", ORDERS, b"{}", {})) for _ in range(6)]
        await eventually_async(lambda: len(tiny.seen) == 2, 5, "two requests at the server")
        await asyncio.sleep(0.1)  # the other four wait for a pooled connection
        assert len(tiny.seen) == 2
        release.set()
        statuses = [r.status for r in await asyncio.gather(*calls)]
    assert statuses == [200] * 6
    assert (tiny.accepted, tiny.most_open) == (2, 2)


async def test_no_free_connection_within_the_pool_timeout_is_upstream_down() -> None:
    release = asyncio.Event()

    async def held(_: Seen) -> bytes:
        await release.wait()
        return reply()

    overrides = {"upstream_max_connections": 1, "upstream_pool_timeout_s": 0.1}
    async with serving(held, **overrides) as (tiny, upstream):
        first = asyncio.create_task(upstream.forward("POST", ORDERS, b"{}", {}))
        await eventually_async(lambda: tiny.seen, 5, "the first request at the server")
        start = time.monotonic()
        with pytest.raises(UpstreamDown, match="pool"):
            await upstream.forward("POST", ORDERS, b"{}", {})
        assert 0.1 <= time.monotonic() - start < 1.0
        release.set()
        assert (await first).status == 200
    assert len(tiny.seen) == 1


async def test_a_cancelled_request_leaves_its_connection_unused() -> None:
    release = asyncio.Event()

    async def slow_first(seen: Seen) -> bytes:
        if len(tiny.seen) == 1:
            await release.wait()
        return reply()

    async with serving(slow_first) as (tiny, upstream):
        call = asyncio.create_task(upstream.forward("POST", ORDERS, b"{}", {}))
        await eventually_async(lambda: tiny.seen, 5, "the request at the server")
        call.cancel()  # the buyer went away
        with pytest.raises(asyncio.CancelledError):
            await call
        release.set()  # its late reply must not be read as the next one's
        await upstream.forward("POST", ORDERS, b"{}", {})
        assert [s.connection for s in tiny.seen] == [1, 2]


@pytest.mark.parametrize("path", ["/api/a b", "/api/a\x00", "/api/\r\nx: y", "/api/é", "/a#b", "x"])
async def test_a_target_that_cannot_go_raw_is_refused_before_a_write(path: str) -> None:
    async with serving() as (tiny, upstream):
        with pytest.raises(ValueError, match="request line"):
            await upstream.forward("GET", path, b"", {})
    assert tiny.accepted == 0


async def test_a_header_value_with_a_line_break_is_refused_before_a_write() -> None:
    async with serving() as (tiny, upstream):
        with pytest.raises(ValueError, match="CR, LF"):
            await upstream.forward("GET", ORDERS, b"", {"idempotency-key": "k\r\nx-a: b"})
        with pytest.raises(ValueError, match="CR, LF"):
            await upstream.forward("GET", ORDERS, b"", {}, "u1\r\nx-admin: yes")
    assert tiny.accepted == 0


async def test_forwarding_needs_the_pool_the_lifespan_opens() -> None:
    upstream = RawUpstream(GatewaySettings())
    with pytest.raises(RuntimeError, match="start"):
        await upstream.forward("GET", ORDERS, b"", {})
    await upstream.start()
    await upstream.aclose()
    await upstream.aclose()  # twice is harmless: shutdown may run after a failed start
