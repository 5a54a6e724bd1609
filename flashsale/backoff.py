"""Exponential backoff with jitter, shared by every retry loop (DB, channels, DLQ).

Pure: the random source is injected, so tests pin the numbers.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

__all__ = ["backoff_delay"]

_random = secrets.SystemRandom()


def backoff_delay(
    attempt: int,
    base_s: float,
    cap_s: float,
    rand: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based).

    "Equal jitter": half of the exponential step is fixed, half random. The fixed half
    keeps a retry from hammering a struggling database; the random half keeps a fleet of
    consumers that failed together from retrying together.
    """
    step = min(cap_s, base_s * 2.0 ** max(0, attempt - 1))
    return step / 2 + float(rand()) * step / 2
