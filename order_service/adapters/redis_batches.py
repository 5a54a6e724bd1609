"""The two Redis calls of every admission, batched across concurrent requests
(flashsale/tick_batch.py): reserve.lua runs as one pipeline of EVALSHAs per batch, and
the acknowledgements of the orders Kafka accepted meanwhile as one more.

Each caller still awaits its own result, so nothing changes for a request: its
reservation has run when `reserve` returns, its pending entry is gone and its order
pointer written when `acknowledge` returns (so GET /api/orders/{id} after the 202 finds
it). What changes is the cost: one round trip and one pipeline per batch, not per call.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from flashsale.stock import SaleKeys
from flashsale.tick_batch import TickBatch

__all__ = ["RESERVE_SOURCE", "Ack", "RedisBatches", "ReserveCall", "order_pointer"]

RESERVE_SOURCE = (Path(__file__).parent / "reserve.lua").read_text()
# One reserve.lua call: its KEYS and its ARGV.
ReserveCall = tuple[list[str], list[str | int]]
Ack = tuple[str, str]  # sale id, order id


def order_pointer(order_id: str) -> str:
    """order id -> sale id, for GET /api/orders/{id}, whose URL names no sale. Outside any
    sale's slot, so it is written after the ack, not by the script."""
    return f"flashsale:order:{order_id}"


class RedisBatches:
    def __init__(self, redis: Redis, pointer_ttl_s: int) -> None:
        self._redis = redis
        self._pointer_ttl_s = pointer_ttl_s
        self._script = redis.register_script(RESERVE_SOURCE)
        self._reserves = TickBatch(self._reserve_all)
        self._acks = TickBatch(self._acknowledge_all)

    async def reserve(self, call: ReserveCall) -> list[object]:
        result: list[object] = await self._reserves.submit(call)
        return result

    async def acknowledge(self, sale_id: str, order_id: str) -> None:
        await self._acks.submit((sale_id, order_id))

    async def _reserve_all(self, calls: list[ReserveCall]) -> list[list[object] | Exception]:
        results = await self._evalsha_all(calls)
        # A restarted Redis forgot the script: none of those calls ran, so load it and
        # send them again (what redis-py's Script does for one call, here for a batch
        # and without a SCRIPT EXISTS round trip before every pipeline).
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            self._script.sha = await self._redis.script_load(RESERVE_SOURCE)
            again = await self._evalsha_all([calls[i] for i in missing])
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        return results

    async def _evalsha_all(self, calls: list[ReserveCall]) -> list[list[object] | Exception]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            results: list[list[object] | Exception] = await pipe.execute(raise_on_error=False)
        return results

    async def _acknowledge_all(self, acks: list[Ack]) -> list[Exception | None]:
        by_sale: dict[str, list[str]] = defaultdict(list)
        for sale_id, order_id in acks:
            by_sale[sale_id].append(order_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id, order_ids in by_sale.items():
                keys = SaleKeys(sale_id)
                pipe.hdel(keys.pending, *order_ids)
                pipe.zrem(keys.pending_at, *order_ids)
            for sale_id, order_id in acks:
                pipe.set(order_pointer(order_id), sale_id, ex=self._pointer_ttl_s)
            await pipe.execute()
        return [None] * len(acks)
