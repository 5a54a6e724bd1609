"""Slow clients (Slowloris) cut off at both HTTP edges: a bounded time to send the request
headers, and a bounded time to send the body.

uvicorn's httptools protocol has neither. Its only timer is `timeout_keep_alive`, which is
armed after a response and disarmed by any byte received, and nothing is armed when a
connection opens: a client that sends one header byte every few seconds holds its
connection (a file descriptor, and at the order service an in-flight slot once the body is
awaited) for ever. A few thousand such clients exhaust an edge without sending a request.

The deadlines here are totals, not gaps between reads: trickling bytes does not extend
them. Headers: from the first byte of a request (or from the connect, for a connection
that sends nothing) to the end of its headers. Body: from the end of the headers to the
end of the body; a request without a body ends at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["REQUEST_TIMEOUT", "slow_client_protocol"]

# Answered when the headers did not arrive in time; nothing of the request was parsed, so
# no application has answered yet. The connection closes after it.
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: 27\r\nconnection: close\r\n\r\n"
    b'{"error":"request_timeout"}'
)


class _DeadlineProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, on_expiry: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, on_expiry)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never sends a byte: no keep-alive timer covers it.
        self._arm(self.header_timeout_s, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout_s, self._headers_too_slow)

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout_s, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    def _body_too_slow(self) -> None:
        # The application is already waiting for the body: closing makes its receive()
        # answer http.disconnect, and whatever it holds (an in-flight slot) is freed.
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def slow_client_protocol(header_timeout_s: float, body_timeout_s: float) -> type[Any]:
    """uvicorn's httptools protocol with the two deadlines, for `uvicorn.run(http=...)`."""
    return type(
        "SlowClientProtocol",
        (_DeadlineProtocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
    )
