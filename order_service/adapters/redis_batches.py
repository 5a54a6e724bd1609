"""The two Redis calls of every admission, batched across concurrent requests
(flashsale/tick_batch.py). One pipeline per batch carries both:
- the purchases that arrived meanwhile, as one reserve.lua call per sale;
- the acknowledgements of the orders Kafka accepted meanwhile: their pending entries
  cleared per sale, their pointers written per hour bucket.

Each caller still awaits its own result, so nothing changes for a request: its
reservation has run when `reserve` returns, its pending entry is gone and its order
pointer written when `acknowledge` returns (so GET /api/orders/{id} after the 202 finds
it). What changes is the cost: one round trip and one pipeline per batch, not per call.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, FieldT

from flashsale.ids import minted_at_ms
from flashsale.stock import SaleKeys
from flashsale.tick_batch import TickBatch

__all__ = ["HOUR_MS", "RESERVE_SOURCE", "Ack", "Purchase", "RedisBatches", "pointer_bucket"]

RESERVE_SOURCE = (Path(__file__).parent / "reserve.lua").read_text()
ANSWER_LEN = 3  # reserve.lua's values per purchase: outcome, order id, number
HOUR_MS = 3_600_000

Answer = list[object]  # reserve.lua's values for one purchase
PurchaseArgs = tuple[str, int, str, int, str]  # user id, quantity, order id, now ms, event


class Purchase(NamedTuple):
    sale_id: str
    args: PurchaseArgs


class Ack(NamedTuple):
    sale_id: str
    order_id: str
    bucket: str  # pointer_bucket(order_id), worked out before it joins a batch


Call = Purchase | Ack
Result = Answer | None
BySale = dict[str, list[tuple[int, PurchaseArgs]]]  # sale id -> (call index, ARGV) in order


def pointer_bucket(order_id: str) -> str:
    """The hash that holds an order's pointer (order id -> sale id) for GET
    /api/orders/{id}, whose URL names no sale. One hash per hour of minting, read from
    the UUIDv7 itself (flashsale/ids.py): a batch of acks writes one HSET, not one SET
    per order, and an hour's pointers expire together. Outside any sale's slot, so it is
    written with the ack, not by the script."""
    hour = minted_at_ms(uuid.UUID(order_id)) // HOUR_MS
    return f"flashsale:order-pointers:{{{hour}}}"


class RedisBatches:
    def __init__(self, redis: Redis, pointer_ttl_s: int) -> None:
        self._redis = redis
        self._pointer_ttl_s = pointer_ttl_s
        self._script = redis.register_script(RESERVE_SOURCE)
        self._calls: TickBatch[Call, Result] = TickBatch(self._send)

    async def reserve(self, purchase: Purchase) -> Answer:
        return cast(Answer, await self._calls.submit(purchase))  # a purchase's values

    async def acknowledge(self, sale_id: str, order_id: str) -> None:
        # A malformed order id fails here, for its own caller, not for the whole batch.
        await self._calls.submit(Ack(sale_id, order_id, pointer_bucket(order_id)))

    async def _send(self, calls: list[Call]) -> list[Result | Exception]:
        by_sale: BySale = defaultdict(list)  # each sale's purchases: (call index, ARGV)
        for i, call in enumerate(calls):
            if isinstance(call, Purchase):
                by_sale[call.sale_id].append((i, call.args))
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_reserves(pipe, by_sale)
            ack_commands = self._queue_acks(pipe, [c for c in calls if isinstance(c, Ack)])
            sent: list[object] = await pipe.execute(raise_on_error=False)
        reserved = await self._reload_if_forgotten(sent[: len(by_sale)], by_sale)
        results: list[Result | Exception] = [None] * len(calls)
        for purchases, result in zip(by_sale.values(), reserved, strict=True):
            for n, (i, _) in enumerate(purchases):
                results[i] = result if isinstance(result, Exception) else _nth(result, n)
        # Each ack gets the errors of its own commands only: its sale's, its bucket's.
        failed = {
            key: error
            for key, error in zip(ack_commands, sent[len(by_sale) :], strict=True)
            if isinstance(error, Exception)
        }
        for i, call in enumerate(calls):
            if isinstance(call, Ack):
                results[i] = failed.get(call.sale_id) or failed.get(call.bucket)
        return results

    def _queue_reserves(self, pipe: Pipeline, by_sale: BySale) -> None:
        """One reserve.lua call per sale, its purchases in arrival order."""
        for sale_id, purchases in by_sale.items():
            keys = SaleKeys(sale_id)
            args = [arg for _, purchase in purchases for arg in purchase]
            pipe.evalsha(
                self._script.sha, 5, keys.meta, keys.stock, keys.buyers, keys.pending,
                keys.pending_at, sale_id, *args,
            )  # fmt: skip

    def _queue_acks(self, pipe: Pipeline, acks: list[Ack]) -> list[str]:
        """The acks' commands; returns whom each one queued is for (a sale id or a
        bucket), in pipeline order."""
        cleared: dict[str, list[str]] = defaultdict(list)
        pointers: dict[str, dict[FieldT, EncodableT]] = defaultdict(dict)
        for sale_id, order_id, bucket in acks:
            cleared[sale_id].append(order_id)
            pointers[bucket][order_id] = sale_id
        for sale_id, order_ids in cleared.items():
            keys = SaleKeys(sale_id)
            pipe.hdel(keys.pending, *order_ids)
            pipe.zrem(keys.pending_at, *order_ids)
        for bucket, entries in pointers.items():
            pipe.hset(bucket, mapping=entries)
            pipe.expire(bucket, self._pointer_ttl_s)  # counted from the bucket's last write
        return [key for key in (*cleared, *pointers) for _ in range(2)]

    async def _reload_if_forgotten(self, results: list[object], by_sale: BySale) -> list[object]:
        """A restarted Redis forgot the script: none of those calls ran, so load it and
        send them again (what redis-py's Script does for one call, here for a batch and
        without a SCRIPT EXISTS round trip before every pipeline)."""
        missing = [n for n, result in enumerate(results) if isinstance(result, NoScriptError)]
        if not missing:
            return results
        self._script.sha = await self._redis.script_load(RESERVE_SOURCE)
        sales = list(by_sale)
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_reserves(pipe, {sales[n]: by_sale[sales[n]] for n in missing})
            resent: list[object] = await pipe.execute(raise_on_error=False)
        for n, result in zip(missing, resent, strict=True):
            results[n] = result
        return results


def _nth(answers: object, n: int) -> Answer:
    """The n-th purchase's values in its sale's call (reserve.lua answers a flat list)."""
    return cast(Answer, answers)[n * ANSWER_LEN : (n + 1) * ANSWER_LEN]
