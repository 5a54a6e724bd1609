"""The Redis side of a sale's stock: the key layout every service shares, loading a sale,
and the one idempotent way to give stock back.

Every key of a sale carries the hash tag `{sale_id}`, so a sale's keys live in one Redis
Cluster slot and one Lua script may touch them all atomically:

    sale:{S}:meta        hash  starts_at_ms, ends_at_ms, per_user_limit, total_stock, and
                               fenced while `flashsale repair` rebuilds the sale
    sale:{S}:stock       int   units left to reserve
    sale:{S}:buyers      hash  user_id -> order_id of the user's live order, or "void:<order_id>"
                               after a failed produce, until the consumer applied the void
    sale:{S}:pending     hash  order_id -> topic, newline, OrderPlaced JSON; until Kafka acked it
    sale:{S}:pending_at  zset  order_id scored by reservation time (ms): the recovery scan
    sale:{S}:released    set   order ids whose stock came back: a second return is a no-op
    sale:{S}:voids       hash  order_id -> topic, newline, OrderVoided JSON; until the void was acked
                               (the order service's recovery retries); its stock and slot come
                               back when the inventory consumer applied it (OrderFailed, relay)
    sale:{S}:idem:{U}:{K} str  the answer to Idempotency-Key K of user U, with a TTL

`flashsale:sales` (a set of sale ids) lists the sales for recovery loops and checks, and
stock changes are announced on the `flashsale:stock` channel as "soldout S" / "release S".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.asyncio import Redis as AsyncRedis

__all__ = [
    "SALES_SET",
    "STOCK_CHANNEL",
    "SaleKeys",
    "StockReleaser",
    "load_sale",
    "script_source",
]

SALES_SET = "flashsale:sales"
STOCK_CHANNEL = "flashsale:stock"


@dataclass(frozen=True)
class SaleKeys:
    sale_id: str

    def _key(self, part: str) -> str:
        return f"sale:{{{self.sale_id}}}:{part}"

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def stock(self) -> str:
        return self._key("stock")

    @property
    def buyers(self) -> str:
        return self._key("buyers")

    @property
    def pending(self) -> str:
        return self._key("pending")

    @property
    def pending_at(self) -> str:
        return self._key("pending_at")

    @property
    def released(self) -> str:
        return self._key("released")

    @property
    def voids(self) -> str:
        return self._key("voids")

    def idempotency(self, user_id: str, key: str) -> str:
        return self._key(f"idem:{user_id}:{key}")

    def all(self) -> list[str]:
        # Append only: release.lua reads KEYS[1..6] in this order.
        return [
            self.meta,
            self.stock,
            self.buyers,
            self.pending,
            self.pending_at,
            self.released,
            self.voids,
        ]


def script_source(name: str) -> str:
    """The text of flashsale/lua/<name>.lua: the scripts every service shares."""
    return (Path(__file__).parent / "lua" / f"{name}.lua").read_text()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def load_sale(
    redis: AsyncRedis,
    sale_id: str,
    stock: int,
    starts_at: datetime,
    ends_at: datetime,
    per_user_limit: int,
) -> None:
    """Write a sale's meta and stock. Called once, when the sale is created."""
    keys = SaleKeys(sale_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            keys.meta,
            mapping={
                "starts_at_ms": _ms(starts_at),
                "ends_at_ms": _ms(ends_at),
                "per_user_limit": per_user_limit,
                "total_stock": stock,
            },
        )
        pipe.set(keys.stock, stock)
        pipe.sadd(SALES_SET, sale_id)
        await pipe.execute()


class StockReleaser:
    """Releases an order's stock in Redis, at most once per order id (release.lua).

    Used for voids, failed (DLQ'd) orders and expired orders alike. Returns True when
    this call released the stock, False when it had already been released.
    """

    def __init__(self, redis: AsyncRedis) -> None:
        # register_script reloads the script when a restarted Redis forgot it (NOSCRIPT).
        self._release = redis.register_script(script_source("release"))

    async def release(self, sale_id: str, order_id: str, user_id: str, quantity: int) -> bool:
        args: list[str | int] = [order_id, user_id, quantity, sale_id]
        return int(await self._release(keys=SaleKeys(sale_id).all(), args=args)) == 1
