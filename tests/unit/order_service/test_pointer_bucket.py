"""Where an order's pointer lives: the hour it was minted in, read from its UUIDv7."""

from __future__ import annotations

from flashsale.ids import uuid7
from order_service.adapters.redis_batches import HOUR_MS, pointer_bucket

START = 1_700_000_000 // 3600 * HOUR_MS  # the first millisecond of an hour


def test_orders_minted_in_one_hour_share_a_bucket() -> None:
    first, last = uuid7(START), uuid7(START + HOUR_MS - 1)
    assert pointer_bucket(str(first)) == pointer_bucket(str(last))


def test_the_next_hour_has_its_own_bucket_in_its_own_slot() -> None:
    this_hour, next_hour = (
        pointer_bucket(str(uuid7(START))),
        pointer_bucket(str(uuid7(START + HOUR_MS))),
    )
    assert this_hour != next_hour
    # The hour is the key's hash tag: a cluster places each bucket by its hour alone.
    assert this_hour == f"flashsale:order-pointers:{{{START // HOUR_MS}}}"
