"""Forwarding admitted requests to the order service over one pooled keep-alive session.

aiohttp, not httpx: under a stampede httpx/httpcore's pool costs more CPU than the order
service it forwards to (`make bench`, "forwarded by the gateway" row). The session is made
inside the running event loop (the app's lifespan calls `start`) and closed on shutdown.
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from gateway.ports import FORWARDED_REQUEST, UpstreamDown, UpstreamReply
from gateway.settings import GatewaySettings

__all__ = ["AiohttpUpstream"]

# Never copied from the client's headers: set only from `forward`'s `user`, which the
# proxy takes from a trusted peer alone (clients.ClientKeys.authenticated_user).
IDENTITY = "x-authenticated-user"
FORWARDED_REPLY = ("content-type", "retry-after")
# Below uvicorn's 5 s keep-alive: the gateway drops an idle connection before the order
# service does, so a POST never goes out on a connection the server is closing.
KEEPALIVE_S = 4.0


class AiohttpUpstream:
    """gateway.ports.Upstream over one aiohttp session."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._base = settings.order_service_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the pool; inside the running loop, as aiohttp binds the session to it."""
        s = self._settings
        timeout = aiohttp.ClientTimeout(
            # aiohttp's `connect` covers the wait for a pooled connection plus a new one's
            # connect; `sock_connect` the TCP connect alone; `sock_read` the reply.
            connect=s.upstream_pool_timeout_s + s.upstream_connect_timeout_s,
            sock_connect=s.upstream_connect_timeout_s,
            sock_read=s.upstream_read_timeout_s,
        )
        connector = aiohttp.TCPConnector(
            limit=s.upstream_max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        user: str | None = None,
    ) -> UpstreamReply:
        """`user`: the identity to vouch for to the order service, None for anonymous."""
        if self._session is None:
            raise RuntimeError(
                "AiohttpUpstream.start() was not awaited (the app's lifespan did not run)"
            )
        sent = {k: v for k, v in headers.items() if k in FORWARDED_REQUEST}
        if user is not None:
            sent[IDENTITY] = user
        # The caller quoted every path segment: no second quoting pass.
        url = URL(self._base + path, encoded=True)
        try:
            async with self._session.request(method, url, data=body or None, headers=sent) as reply:
                content = await reply.read()
                kept = {k: v for k in FORWARDED_REPLY if (v := reply.headers.get(k)) is not None}
                return UpstreamReply(reply.status, content, kept)
        except (aiohttp.ClientError, TimeoutError) as exc:  # refused, reset, any timeout
            raise UpstreamDown(repr(exc)) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
