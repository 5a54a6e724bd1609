"""The local sold-out flag per sale: once a sale is sold out, answering costs no Redis call.

Two refreshers, so a flag is never stale for long:
- the `flashsale:stock` channel: "soldout S" (stock reached 0 in any replica) raises the
  flag, "release S" (a void, a failed or expired order released stock) drops it at once;
- a short TTL: a flag nobody refreshed expires and the next request asks Redis again,
  which covers a pub/sub message lost while the subscription was reconnecting.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from flashsale.asgi import SoldOutFlags
from flashsale.stock import STOCK_CHANNEL

__all__ = ["StockChannelFlags", "follow_stock_channel"]

log = logging.getLogger(__name__)


class StockChannelFlags(SoldOutFlags):
    """The kernel's TTL flags, also driven by the `flashsale:stock` pub/sub channel."""

    def apply(self, message: str) -> None:
        """Apply one `flashsale:stock` message; anything else is ignored."""
        kind, _, sale_id = message.partition(" ")
        if kind == "soldout" and sale_id:
            self.mark(sale_id)
        elif kind == "release" and sale_id:
            self.clear(sale_id)


async def follow_stock_channel(
    redis: Redis, flags: StockChannelFlags, ready: asyncio.Event | None = None
) -> None:
    """Apply the channel's messages until cancelled, resubscribing after a Redis error."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(STOCK_CHANNEL)
                if ready is not None:
                    ready.set()
                async for message in pubsub.listen():
                    data = message.get("data")
                    flags.apply(data.decode() if isinstance(data, bytes) else str(data))
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis went away: the TTL keeps flags honest meanwhile
            log.warning("stock channel lost; resubscribing", exc_info=True)
            await asyncio.sleep(1.0)
