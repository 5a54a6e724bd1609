"""Forwarding admitted requests to the order service over a small pool of keep-alive
HTTP/1.1 connections (raw_connection.py): the request is one pre-formatted write and
the reply one httptools parse, with no client framework in between. Each worker
process has its own pool, opened by the app's lifespan (`start`).

Why not aiohttp (upstream.py): its request/response objects, header multidicts and
per-request timeout contexts are work this path does not need, paid on the gateway's
one core per worker ("sold out, forwarded by gateway" in `python -m loadtests.bench_http`).
Timeouts: upstream_read_timeout_s bounds the whole reply (aiohttp's sock_read bounds
each read); connect and pool waits as in upstream.py.

Sending twice. A pooled connection the server has closed (its EOF seen) or that has
been idle for KEEPALIVE_S is dropped before anything is written to it. A request is
repeated at most once: when a *reused* connection dies before any byte of the reply
(the server closed it idle just as we wrote: what browsers retry), and only for a
method idempotent by definition or a request carrying an Idempotency-Key (the order
service answers a repeat with the first answer). A plain POST there becomes a 503 with
Retry-After: it may have reached a server that died while placing the order, so the
buyer decides, not the gateway (the order service would answer a repeat with
already_purchased rather than sell twice, but a gateway should not lean on that).
A failure on a fresh connection is never retried. KEEPALIVE_S, below the server's own
keep-alive, keeps the POST case rare.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from urllib.parse import urlsplit

from gateway.adapters.raw_connection import DeadBeforeReply, UpstreamConnection
from gateway.adapters.upstream import IDENTITY, KEEPALIVE_S
from gateway.ports import FORWARDED_REQUEST, UpstreamDown, UpstreamReply
from gateway.settings import GatewaySettings

__all__ = ["RawUpstream"]

# What may go on the request line as it is: printable ASCII, no space, no fragment.
# Anything else (spaces, control or non-ASCII characters) is refused before a write.
TARGET = re.compile(r"/[!-\"$-~]*")
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# CR/LF/NUL in a value would end the header early: a second request smuggled inside.
BAD_VALUE = re.compile(r"[\r\n\x00]")
# RFC 9110 9.2.2: repeating these changes nothing more than sending them once.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class RawUpstream:
    """gateway.ports.Upstream over at most `upstream_max_connections` pooled connections."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        url = urlsplit(settings.order_service_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"order_service_url is not an http(s) URL: {url.geturl()!r}")
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._tls = ssl.create_default_context() if url.scheme == "https" else None
        self._prefix = url.path.rstrip("/")  # a base path: the order service's mount point
        self._authority = url.netloc.rpartition("@")[2]
        self._idle: list[UpstreamConnection] = []  # the most recently used last
        self._slots: asyncio.Semaphore | None = None  # None: not started, or closed

    async def start(self) -> None:
        """Open the pool (empty: connections are made on demand, inside the running loop)."""
        self._slots = asyncio.Semaphore(self._settings.upstream_max_connections)

    async def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        user: str | None = None,
    ) -> UpstreamReply:
        """`user`: the identity to vouch for to the order service, None for anonymous.
        ValueError: a target or header that cannot go on the wire (nothing was sent)."""
        slots = self._slots
        if slots is None:
            raise RuntimeError(
                "RawUpstream.start() was not awaited (the app's lifespan did not run)"
            )
        payload = self._request(method, path, body, headers, user)
        repeatable = method in IDEMPOTENT or "idempotency-key" in headers
        await self._take_slot(slots)
        try:
            return await self._send(method, payload, repeatable)
        except (OSError, TimeoutError) as exc:  # refused, reset, closed, timed out
            raise UpstreamDown(repr(exc)) from exc
        finally:
            slots.release()

    async def aclose(self) -> None:
        self._slots = None
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], user: str | None
    ) -> bytes:
        """The request's bytes. The caller quoted the path: it goes out as it is."""
        if not TOKEN.fullmatch(method) or not TARGET.fullmatch(path):
            raise ValueError(f"not a request line that can be sent: {method!r} {path!r}")
        sent = [(k, v) for k in FORWARDED_REQUEST if (v := headers.get(k)) is not None]
        if user is not None:  # set from `user` alone, never copied from the client
            sent.append((IDENTITY, user))
        if BAD_VALUE.search("".join(v for _, v in sent)):
            raise ValueError("a forwarded header value holds CR, LF or NUL")
        lines = [f"{method} {self._prefix}{path} HTTP/1.1", f"host: {self._authority}"]
        lines += [f"{k}: {v}" for k, v in sent]
        if body or method not in NO_BODY:
            lines.append(f"content-length: {len(body)}")
        head = "\r\n".join(lines)
        return (head + "\r\n\r\n").encode("latin-1") + body  # UnicodeError is a ValueError

    async def _take_slot(self, slots: asyncio.Semaphore) -> None:
        if not slots.locked():
            await slots.acquire()  # a free slot: no suspension, no timer
            return
        try:
            async with asyncio.timeout(self._settings.upstream_pool_timeout_s):
                await slots.acquire()
        except TimeoutError as exc:
            raise UpstreamDown("no free upstream connection within the pool timeout") from exc

    async def _send(self, method: str, payload: bytes, repeatable: bool) -> UpstreamReply:
        connection = self._pooled()
        if connection is not None:
            try:
                return await self._exchange(connection, method, payload)
            except DeadBeforeReply:
                if not repeatable:
                    raise
        return await self._exchange(await self._connect(), method, payload)

    async def _exchange(
        self, connection: UpstreamConnection, method: str, payload: bytes
    ) -> UpstreamReply:
        try:
            return await connection.exchange(
                method, payload, self._settings.upstream_read_timeout_s
            )
        finally:  # a reply, an error or a cancellation (the buyer went away)
            connection.finish()
            self._give_back(connection)

    def _give_back(self, connection: UpstreamConnection) -> None:
        if not connection.reusable:
            return  # finish() closed it
        if self._slots is None:  # the pool closed while this request was out
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.append(connection)

    def _pooled(self) -> UpstreamConnection | None:
        """The most recently used idle connection still open and not near the server's
        keep-alive limit; older or closed ones are dropped on the way."""
        expired_before = asyncio.get_running_loop().time() - KEEPALIVE_S
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and connection.idle_since > expired_before:
                return connection
            connection.close()
        return None

    async def _connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._settings.upstream_connect_timeout_s):
            _, connection = await loop.create_connection(
                lambda: UpstreamConnection(loop),
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls else None,
            )
        return connection
