"""Forwarding admitted /api/ requests to the order service as raw ASGI: no framework sits
between the edge's checks and the upstream call, so an admitted buyer pays for one parse
of the request and one pooled HTTP round trip, nothing more.

The order service owns the API and its OpenAPI spec; the gateway passes /api/ through
(the order service answers 404/405/422 itself) and remembers sold-out answers. It vouches
for the buyer's identity (X-Authenticated-User) only when a trusted proxy set it.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from flashsale.asgi import TOO_LARGE, answer, precomputed
from gateway.clients import ClientKeys
from gateway.handlers import Admission
from gateway.ports import FORWARDED_REQUEST, Outcomes, Upstream, UpstreamDown, UpstreamReply
from gateway.proof_of_work import PROOF_REQUIRED, ProofOfWork

__all__ = ["ApiProxy", "Dispatch"]

log = logging.getLogger(__name__)
# The headers the order service needs (ports.py's list), as the bytes ASGI carries.
WANTED = {name.encode("latin-1") for name in FORWARDED_REQUEST}
BAD_REQUEST = precomputed(400, b'{"error":"bad_request"}')


class ApiProxy:
    def __init__(
        self,
        upstream: Upstream,
        admission: Admission,
        clients: ClientKeys,
        outcomes: Outcomes,
        max_body: int,
        retry_after_s: int,
        proofs: ProofOfWork | None = None,
    ) -> None:
        self.upstream = upstream
        self.proofs = proofs  # None: no proof of work asked (proof_of_work.py)
        self.admission = admission  # learns from the answers: see Admission.learn
        self.clients = clients
        self.outcomes = outcomes
        self.max_body = max_body
        self.unavailable = precomputed(
            503, b'{"error":"unavailable"}', (b"retry-after", str(retry_after_s).encode())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive, self.max_body)
        if body is None:
            self.outcomes.too_large.inc()
            await answer(send, TOO_LARGE)
            return
        if self.proofs is not None and not self.proofs.solved_for_body(scope, body):
            self.outcomes.no_proof.inc()
            await answer(send, PROOF_REQUIRED)
            return
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in WANTED
        }
        target = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        user = self.clients.authenticated_user(scope)
        try:
            reply = await self.upstream.forward(scope["method"], target, body, headers, user)
        except UpstreamDown:
            self.outcomes.upstream_error.inc()
            await answer(send, self.unavailable)
            return
        except ValueError:  # a path no URL parser accepts: the client's fault, never a 5xx
            await answer(send, BAD_REQUEST)
            return
        except Exception:  # our trouble, never the client's: the one 5xx is a 503
            log.exception("forwarding %s %s failed", scope["method"], scope["path"])
            self.outcomes.upstream_error.inc()
            await answer(send, self.unavailable)
            return
        self.outcomes.forwarded.inc()
        self.admission.learn(scope["method"], scope["path"], reply.status, reply.body)
        await _send_reply(send, reply)


class Dispatch:
    """/api/ to the proxy; everything else (waiting room, health, lifespan) to the app."""

    def __init__(self, api: ASGIApp, app: ASGIApp) -> None:
        self.api = api
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past `limit` (a lying Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_reply(send: Send, reply: UpstreamReply) -> None:
    headers = [(b"content-length", str(len(reply.body)).encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
