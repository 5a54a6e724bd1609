"""The Redis pub/sub follower of the `flashsale:stock` channel: it drives the local
sold-out flags (soldout.py) of every replica."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from flashsale.cancellation import raise_if_cancelled
from flashsale.stock import STOCK_CHANNEL
from order_service.soldout import StockChannelFlags

__all__ = ["follow_stock_channel"]

log = logging.getLogger(__name__)


async def follow_stock_channel(
    redis: Redis, flags: StockChannelFlags, ready: asyncio.Event | None = None
) -> None:
    """Apply the channel's messages until cancelled, resubscribing after a Redis error."""
    while True:
        raise_if_cancelled()  # Python 3.11 may have lost it: see flashsale.cancellation
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
            raise_if_cancelled()
            log.warning("stock channel lost; resubscribing", exc_info=True)
            await asyncio.sleep(1.0)
