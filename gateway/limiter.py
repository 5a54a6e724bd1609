"""Raw ASGI middleware in front of the gateway's app: the hard limit before any I/O.

The entry point of every request. For /api/ it asks handlers.Admission (sold out? then
the per-client and global buckets, then the shared one) and answers with a precomputed
message; then it checks the sizes:
- headers over the limit -> 431, after the 429s so that the cheap path stays cheap;
- a declared body over the limit -> 413.
Only /api/ requests are limited: the waiting room page, health checks and /metrics always
answer. Each refusal is counted with one `inc()` of a counter child bound at start.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from flashsale.asgi import answer, oversized, precomputed
from gateway.clients import ClientKeys
from gateway.handlers import MAX_RETRY_AFTER, Admission
from gateway.ports import Outcomes

__all__ = ["RateLimiter"]

# One precomputed 429 per Retry-After value: the answer is built once, never per request.
RATE_LIMITED = [
    precomputed(429, b'{"error":"rate_limited"}', (b"retry-after", str(s).encode()))
    for s in range(MAX_RETRY_AFTER + 1)
]
SOLD_OUT = precomputed(409, b'{"error":"sold_out"}')


class RateLimiter:
    def __init__(
        self,
        app: ASGIApp,
        clients: ClientKeys,
        admission: Admission,
        outcomes: Outcomes,
        max_body: int,
        max_header: int = 8192,
    ) -> None:
        self.app = app
        self.clients = clients
        self.admission = admission
        self.max_body = max_body
        self.max_header = max_header
        # The bound methods themselves: the refusal paths pay a call, no attribute chain.
        self.count_rate_limited = outcomes.rate_limited.inc
        self.count_sold_out = outcomes.sold_out.inc
        self.count_too_large = outcomes.too_large.inc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if admission.is_sold_out(scope["method"], scope["path"], scope["headers"]):
            self.count_sold_out()
            await answer(send, SOLD_OUT)
            return
        retry = admission.local_retry_after(self.clients.key(scope))
        if retry:
            self.count_rate_limited()
            await answer(send, RATE_LIMITED[retry])
            return
        if admission.shared is not None:  # no await at all without one
            retry = await admission.shared_retry_after()
            if retry:
                self.count_rate_limited()
                await answer(send, RATE_LIMITED[retry])
                return
        refusal = oversized(scope, self.max_header, self.max_body)
        if refusal is not None:
            self.count_too_large()
            await answer(send, refusal)
            return
        await self.app(scope, receive, send)
