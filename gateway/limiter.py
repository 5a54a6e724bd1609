"""Raw ASGI middleware in front of the gateway's FastAPI app: the hard limit before any I/O.

Order of the checks, cheapest and most protective first:
1. the edge sold-out cache -> the order service's 409 sold_out, without forwarding. First,
   because such a request never reaches the order service: it must not spend the global
   bucket's tokens (and 429 the buyers of other sales) nor the client's own;
2. the per-client bucket, then the global bucket -> 429 + Retry-After (precomputed);
3. the shared Redis bucket, if configured (only for requests about to be forwarded);
4. headers over the limit -> 431, after the 429s so that the cheap path stays cheap;
5. a declared body over the limit -> 413.
Only /api/ requests are limited: the waiting room page and health checks always answer.
"""

from __future__ import annotations

import math

from starlette.types import ASGIApp, Receive, Scope, Send

from flashsale.asgi import (
    HEADERS_TOO_LARGE,
    TOO_LARGE,
    SoldOutFlags,
    answer,
    declared_length,
    headers_over,
    is_sold_out_order,
    precomputed,
)
from gateway.bucket import GcraBucket, KeyedBuckets
from gateway.clients import ClientKeys
from gateway.shared_bucket import SharedBucket

__all__ = ["RateLimiter"]

MAX_RETRY_AFTER = 60


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
        per_client: KeyedBuckets,
        global_bucket: GcraBucket,
        sold_out: SoldOutFlags,
        max_body: int,
        shared: SharedBucket | None = None,
        max_header: int = 8192,
    ) -> None:
        self.app = app
        self.clients = clients
        self.per_client = per_client
        self.global_bucket = global_bucket
        self.sold_out = sold_out
        self.max_body = max_body
        self.shared = shared
        self.max_header = max_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if is_sold_out_order(scope, self.sold_out):
            await answer(send, SOLD_OUT)
            return
        wait = self.per_client.take(self.clients.key(scope)) or self.global_bucket.take()
        if wait:
            await answer(send, RATE_LIMITED[min(math.ceil(wait), MAX_RETRY_AFTER)])
            return
        if self.shared is not None:
            wait = await self.shared.take()
            if wait:
                await answer(send, RATE_LIMITED[min(math.ceil(wait), MAX_RETRY_AFTER)])
                return
        if headers_over(scope, self.max_header):
            await answer(send, HEADERS_TOO_LARGE)
            return
        if declared_length(scope) > self.max_body:
            await answer(send, TOO_LARGE)
            return
        await self.app(scope, receive, send)
