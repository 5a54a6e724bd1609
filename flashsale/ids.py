"""UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

Every id this system mints (order ids, event and command ids) is one:
- time-ordered, so the unique indexes they key in PostgreSQL (orders, the outbox's
  event ids) grow at their right edge instead of at random pages;
- still unguessable (74 random bits from the OS), as an order token must be;
- carrying its own minting time, which names the Redis bucket of an order's pointer
  (order_service/adapters/redis_batches.py) without another lookup.
Python has uuid.uuid7 from 3.14 on; this is the same layout.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["minted_at_ms", "uuid7"]

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_A = (1 << 12) - 1  # the 12 random bits after the version
_RAND_B = (1 << 62) - 1  # the 62 random bits after the variant


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7, minted at `now_ms` (now when None)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10))
    value = ms << 80 | _VERSION | (rand >> 62 & _RAND_A) << 64 | _VARIANT | rand & _RAND_B
    return uuid.UUID(int=value)


def minted_at_ms(id_: uuid.UUID) -> int:
    """The Unix milliseconds a UUIDv7 was minted at (meaningless for other versions)."""
    return id_.int >> 80
