"""The gateway's adapters as small interfaces, and what crosses them: the handlers and the
ASGI entry points see only these (real ones in gateway/adapters/, fakes in the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["FORWARDED_REQUEST", "SharedBucket", "Upstream", "UpstreamDown", "UpstreamReply"]

# Request headers the order service needs; everything else stays at the edge. The
# identity (X-Authenticated-User) is never among them: see Upstream.forward's `user`.
FORWARDED_REQUEST = ("content-type", "idempotency-key")


class UpstreamDown(Exception):
    """The order service refused, timed out or the pool had no free connection in time."""


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    body: bytes
    headers: dict[str, str]


class Upstream(Protocol):
    """The order service over HTTP: one pool, opened and closed by the app's lifespan."""

    async def start(self) -> None: ...

    async def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        user: str | None = None,
    ) -> UpstreamReply:
        """Send one request (`path` already quoted, with its query) and read the reply.

        `user`: the identity to vouch for, None for anonymous. Raises UpstreamDown when
        the order service cannot be reached or does not answer in time.
        """
        ...

    async def aclose(self) -> None: ...


class SharedBucket(Protocol):
    """A global bucket shared by every gateway replica."""

    async def take(self) -> float:
        """Seconds to wait; 0.0 when admitted, or when the bucket cannot be asked (fail
        open: each replica's local global bucket still bounds it)."""
        ...
