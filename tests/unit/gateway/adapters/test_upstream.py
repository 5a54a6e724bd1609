"""The aiohttp upstream without a network: its life cycle. (Forwarding: integration.)"""

from __future__ import annotations

import pytest

from gateway.adapters.upstream import AiohttpUpstream
from gateway.settings import GatewaySettings


async def test_forwarding_needs_the_pool_the_lifespan_opens() -> None:
    upstream = AiohttpUpstream(GatewaySettings())
    with pytest.raises(RuntimeError, match="start"):
        await upstream.forward("GET", "/api/orders/o1", b"", {})
    await upstream.start()
    await upstream.aclose()
    await upstream.aclose()  # twice is harmless: shutdown may run after a failed start
