"""Forwarding admitted requests to the order service over one pooled keep-alive client."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.settings import GatewaySettings

__all__ = ["Upstream", "UpstreamDown", "UpstreamReply"]

# Request headers the order service needs; everything else stays at the edge.
FORWARDED_REQUEST = ("content-type", "idempotency-key")
FORWARDED_REPLY = ("content-type", "retry-after")


class UpstreamDown(Exception):
    """The order service refused, timed out or the pool had no free connection in time."""


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    body: bytes
    headers: dict[str, str]


class Upstream:
    def __init__(
        self, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        limits = httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
            keepalive_expiry=30,
        )
        timeout = httpx.Timeout(
            connect=settings.upstream_connect_timeout_s,
            read=settings.upstream_read_timeout_s,
            write=settings.upstream_connect_timeout_s,
            pool=settings.upstream_pool_timeout_s,
        )
        self._client = httpx.AsyncClient(
            base_url=settings.order_service_url, limits=limits, timeout=timeout, transport=transport
        )

    async def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> UpstreamReply:
        sent = {k: v for k, v in headers.items() if k in FORWARDED_REQUEST}
        try:
            reply = await self._client.request(method, path, content=body, headers=sent)
        except httpx.TransportError as exc:  # connect/read/pool timeouts, refused, reset
            raise UpstreamDown(repr(exc)) from exc
        kept = {k: v for k, v in reply.headers.items() if k in FORWARDED_REPLY}
        return UpstreamReply(reply.status_code, reply.content, kept)

    async def aclose(self) -> None:
        await self._client.aclose()
