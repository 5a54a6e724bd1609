"""The gateway's decisions, free of ASGI and I/O: who passes the edge, and what an order
service answer teaches the edge about a sale's stock.

The checks run cheapest and most protective first:
1. the sold-out flag -> the order service's 409 sold_out, without forwarding. First,
   because such a request never reaches the order service: it must not spend the global
   bucket's tokens (and 429 the buyers of other sales) nor the client's own;
2. the per-client bucket, then the global bucket -> 429 + Retry-After;
3. the shared bucket, if configured (only for requests about to be forwarded).
These are called on every /api/ request (limiter.py): they take plain values and answer
with a bool or an int, so that the 429 and sold-out paths allocate nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import ceil

import orjson

from flashsale.asgi import SoldOutFlags, is_sold_out_purchase, order_sale_id
from gateway.bucket import GcraBucket, KeyedBuckets
from gateway.ports import SharedBucket

__all__ = ["MAX_RETRY_AFTER", "Admission", "retry_after"]

# Longer waits are told as this many seconds: a client that comes back early is just
# limited again, and the 429s are prebuilt for each value up to it (limiter.py).
MAX_RETRY_AFTER = 60


def retry_after(wait: float) -> int:
    """A bucket's wait (> 0) as a Retry-After: whole seconds, 1 to MAX_RETRY_AFTER."""
    return min(ceil(wait), MAX_RETRY_AFTER)


class Admission:
    def __init__(
        self,
        per_client: KeyedBuckets,
        global_bucket: GcraBucket,
        sold_out: SoldOutFlags,
        shared: SharedBucket | None = None,
    ) -> None:
        self.per_client = per_client
        self.global_bucket = global_bucket
        self.sold_out = sold_out
        self.shared = shared  # None: this replica's buckets alone

    def is_sold_out(self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """A purchase of a flagged sale, which the edge answers `sold_out` by itself."""
        return is_sold_out_purchase(method, path, headers, self.sold_out)

    def local_retry_after(self, client_key: str) -> int:
        """0 when the client's bucket and then the global one admit the request, else the
        Retry-After seconds. A request the client's bucket refuses costs no global token."""
        wait = self.per_client.take(client_key) or self.global_bucket.take()
        # retry_after(), inlined: this is the 429 path, where one call more shows.
        return min(ceil(wait), MAX_RETRY_AFTER) if wait else 0

    async def shared_retry_after(self) -> int:
        """The same for the shared bucket, asked after the local buckets admitted."""
        if self.shared is None:
            return 0
        wait = await self.shared.take()
        return retry_after(wait) if wait else 0

    def learn(self, method: str, path: str, status: int, body: bytes) -> None:
        """What the order service's answer to a purchase says about the sale's stock."""
        sale_id = order_sale_id(path) if method == "POST" else None
        if sale_id is None:
            return
        if status == 409 and _is_sold_out(body):
            self.sold_out.mark(sale_id)
        elif status == 202:  # only a reservation proves there is stock again
            self.sold_out.clear(sale_id)


def _is_sold_out(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and parsed.get("error") == "sold_out"
