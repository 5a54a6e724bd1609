"""One keep-alive HTTP/1.1 connection to the order service: an asyncio.Protocol that
writes a ready-made request and lets httptools (llhttp, what uvicorn parses with) read
the reply, Content-Length or chunked. raw_upstream.py pools these.

It reads only what the proxy forwards (status, body, FORWARDED_REPLY headers) and holds
one request at a time: no pipelining, so a reply always belongs to the request before it.
"""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

from gateway.adapters.upstream import FORWARDED_REPLY
from gateway.ports import UpstreamReply

__all__ = ["BadReply", "DeadBeforeReply", "UpstreamConnection"]

KEPT = {name.encode("latin-1") for name in FORWARDED_REPLY}
# Either tells llhttp where the body ends; with neither, it ends when the server closes.
FRAMING = {b"content-length", b"transfer-encoding"}


class DeadBeforeReply(ConnectionError):
    """The connection closed before a single byte of the reply came back: the request
    may or may not have reached the server."""


class BadReply(ConnectionError):
    """The server's bytes are not an HTTP/1.1 reply."""


class UpstreamConnection(asyncio.Protocol):
    """One request at a time; `reusable` turns False for good once the server closes,
    says Connection: close, errs or a request is abandoned half-way."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[UpstreamReply] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._replying = False  # a byte of the reply has arrived
        self._framed = False  # Content-Length or chunked: the end is not the close
        self._head = False  # a HEAD: the reply ends with its headers
        self.reusable = True
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a TCP connection

    def exchange(
        self, method: str, payload: bytes, read_timeout_s: float
    ) -> asyncio.Future[UpstreamReply]:
        """Write one request; the future holds its reply, or the error that ended it."""
        if self._transport is None or not self.reusable:  # the pool hands out open ones
            raise RuntimeError("an exchange on a closed upstream connection")
        self._waiter = waiter = self._loop.create_future()
        self._headers, self._body = {}, []
        self._replying = self._framed = False
        self._head = method == "HEAD"
        self._timer = self._loop.call_later(read_timeout_s, self._timed_out)
        self._transport.write(payload)
        return waiter

    def finish(self) -> None:
        """After each exchange, whatever became of it: a request that did not end with
        its whole reply leaves the connection unusable (a late reply would be misread)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter, self._waiter = self._waiter, None
        if waiter is None or not waiter.done() or waiter.cancelled() or waiter.exception():
            self.close()

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Unasked bytes (a 408 before an idle close, a reply we gave up on).
            self.close()
            return
        self._replying = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BadReply(f"unreadable reply: {exc!r}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if not self._replying:
            self._fail(DeadBeforeReply(f"closed before the reply: {exc!r}"))
        elif self._waiter is not None and not self._framed and self._parser.get_status_code():
            self._complete()  # a body that runs until the server closes
        else:
            self._fail(ConnectionResetError(f"closed in the middle of the reply: {exc!r}"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._waiter is not None and self._waiter.done():  # a second reply: not ours
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in KEPT:
            self._headers[name.decode("latin-1")] = value.decode("latin-1")
        elif name in FRAMING:
            self._framed = True

    def on_headers_complete(self) -> None:
        if self._head:  # llhttp would wait for a body a HEAD reply never has
            self.reusable = False
            self._complete()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():  # Connection: close, or HTTP/1.0
            self.reusable = False
        self._complete()

    # inside

    def _complete(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            status = self._parser.get_status_code()
            waiter.set_result(UpstreamReply(status, b"".join(self._body), self._headers))

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(TimeoutError("no whole reply within the read timeout"))
