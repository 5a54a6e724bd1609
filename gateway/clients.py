"""Who is asking: the key of the per-client bucket.

Identity headers are believed only when the TCP peer is a configured trusted proxy:
anyone else could write any `X-Forwarded-For` or user header and get a fresh bucket
per request. Behind a trusted proxy:
- `X-Authenticated-User` (set by the auth layer in front, e.g. an OIDC ingress) keys the
  bucket on the user, so users behind one NAT do not share a bucket;
- else the client address is the right-most `X-Forwarded-For` entry that is not itself
  a trusted proxy (entries further left were written by the client: not trusted).

The same rule decides which identity the order service hears (`authenticated_user`):
the trusted proxy's `X-Authenticated-User`, or none; a client's own is dropped.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope

__all__ = ["USER_HEADER", "ClientKeys"]

USER_HEADER = b"x-authenticated-user"
FORWARDED_FOR = b"x-forwarded-for"


class ClientKeys:
    def __init__(self, trusted_proxies: list[str]) -> None:
        self._networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        # The per-request check is a dict lookup; parsing happens once per address.
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def authenticated_user(self, scope: Scope) -> str | None:
        """The user a trusted proxy vouches for; None from anyone else, whatever they send."""
        client = scope.get("client")
        if not client or not self._networks or not self.is_trusted(client[0]):
            return None
        for name, value in scope["headers"]:
            if name == USER_HEADER and value:
                return str(value.decode("latin-1"))
        return None

    def key(self, scope: Scope) -> str:
        client = scope.get("client")
        peer: str = client[0] if client else ""
        if not self._networks or not self.is_trusted(peer):
            return peer
        forwarded: bytes = b""
        for name, value in scope["headers"]:
            if name == USER_HEADER and value:
                user: str = value.decode("latin-1")
                return "user:" + user[:128]
            if name == FORWARDED_FOR:
                forwarded = value
        for hop in reversed(forwarded.decode("latin-1").split(",")):
            hop = hop.strip()
            if hop and not self.is_trusted(hop):
                return hop[:64]
        return peer
