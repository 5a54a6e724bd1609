"""An optional bot deterrent: a hashcash-style proof of work before a purchase is admitted.

The waiting-room page asks `/pow/challenge?sale=S`, then finds a nonce such that
SHA-256("{challenge}.{user_id}.{nonce}") starts with `difficulty` zero bits (in the
browser, with SubtleCrypto), and sends `X-Proof-Of-Work: {challenge}.{nonce}` with its
order. One buyer pays for it once per window; a bot pays for it once per fake user.

Stateless: the challenge is "{window}.{HMAC(secret, sale|window)}", so the gateway keeps
nothing per client, any replica verifies any proof, and nobody can make a challenge for
a window that has not come yet. Replay is bounded by what the proof is bound to: its sale
(in the HMAC), its user (in the hash; the order service sells once per user anyway) and
its window (the current or the previous one are accepted, so a proof solved at the end
of a window still counts).

Two checks, both before anything is forwarded:
- `ProofGate` (raw ASGI, in front of the buckets): a purchase without a well-formed proof
  of a fresh window with a valid HMAC gets a precomputed 403 at once, without reading the
  body and without spending a bucket token;
- `ProofOfWork.solved` (called by proxy.py once the body is read): the hash, with the
  body's user id, has the zero bits.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from flashsale.asgi import answer, order_sale_id, precomputed
from flashsale.contracts import SALE_ID_PATTERN
from gateway.ports import Count
from gateway.settings import GatewaySettings

__all__ = [
    "PROOF_HEADER",
    "PROOF_REQUIRED",
    "ProofGate",
    "ProofOfWork",
    "challenge_router",
    "proofs_from",
]

PROOF_HEADER = b"x-proof-of-work"
PROOF_REQUIRED = precomputed(403, b'{"error":"proof_of_work_required"}')
# Where ProofGate leaves the checked proof for proxy.py: (challenge, nonce).
SCOPE_KEY = "flashsale.proof"
MAC_HEX = 32  # 128 bits of the HMAC: unforgeable, and short in a header


class ProofOfWork:
    def __init__(
        self,
        secret: bytes,
        difficulty_bits: int,
        window_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.difficulty_bits = difficulty_bits
        self.window_s = window_s
        self._clock = clock

    def _mac(self, sale_id: str, window: int) -> str:
        message = f"{sale_id}|{window}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:MAC_HEX]

    def challenge(self, sale_id: str) -> tuple[str, int]:
        """This window's challenge for a sale, and the seconds it has left."""
        now = self._clock()
        window = int(now // self.window_s)
        left = int((window + 1) * self.window_s - now) + 1
        return f"{window}.{self._mac(sale_id, window)}", left

    def fresh_challenge(self, sale_id: str, proof: str) -> tuple[str, str] | None:
        """(challenge, nonce) when the proof names a valid challenge of this or the
        previous window for this sale; None otherwise. No hashing of the work yet."""
        parts = proof.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not 0 < len(parts[2]) <= 32:
            return None
        window, mac, nonce = int(parts[0]), parts[1], parts[2]
        current = int(self._clock() // self.window_s)
        if window not in (current, current - 1):
            return None
        if not hmac.compare_digest(mac, self._mac(sale_id, window)):
            return None
        return f"{parts[0]}.{mac}", nonce

    def solved(self, challenge: str, nonce: str, user_id: str) -> bool:
        """Does SHA-256("{challenge}.{user_id}.{nonce}") start with the zero bits?"""
        digest = hashlib.sha256(f"{challenge}.{user_id}.{nonce}".encode()).digest()
        return int.from_bytes(digest, "big") >> (256 - self.difficulty_bits) == 0

    def solved_for_body(self, scope: Scope, body: bytes) -> bool:
        """The second check (proxy.py): the proof ProofGate let through, for the body's
        user. Requests the gate did not check (not a purchase) pass."""
        checked = scope.get(SCOPE_KEY)
        if checked is None:
            return True
        user_id = _user_id(body)
        return user_id is not None and self.solved(checked[0], checked[1], user_id)


def proofs_from(settings: GatewaySettings) -> ProofOfWork | None:
    """The verifier the settings ask for; None when the proof of work is off."""
    if not settings.pow_enabled or settings.pow_secret is None:
        return None
    secret = settings.pow_secret.get_secret_value().encode()
    return ProofOfWork(secret, settings.pow_difficulty_bits, settings.pow_window_s)


class ProofGate:
    """Raw ASGI in front of the buckets: purchases without a fresh, signed proof stop here."""

    def __init__(self, app: ASGIApp, proofs: ProofOfWork, refused: Count) -> None:
        self.app = app
        self.proofs = proofs
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            sale_id = order_sale_id(scope["path"])
            if sale_id is not None:
                checked = self._checked(sale_id, scope["headers"])
                if checked is None:
                    self.refused.inc()
                    await answer(send, PROOF_REQUIRED)
                    return
                scope[SCOPE_KEY] = checked
        await self.app(scope, receive, send)

    def _checked(self, sale_id: str, headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
        for name, value in headers:
            if name == PROOF_HEADER:
                return self.proofs.fresh_challenge(sale_id, value.decode("latin-1"))
        return None


def _user_id(body: bytes) -> str | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    user_id = parsed.get("user_id") if isinstance(parsed, dict) else None
    return user_id if isinstance(user_id, str) else None


class Challenge(BaseModel):
    challenge: str
    difficulty_bits: int


def challenge_router(proofs: ProofOfWork) -> APIRouter:
    """GET /pow/challenge?sale=S, what the waiting-room page solves."""
    router = APIRouter()

    @router.get(
        "/pow/challenge",
        response_model=Challenge,
        summary="This window's proof-of-work challenge for a sale",
    )
    async def challenge(sale: Annotated[str, Query(pattern=SALE_ID_PATTERN)]) -> Response:
        value, left = proofs.challenge(sale)
        body = {"challenge": value, "difficulty_bits": proofs.difficulty_bits}
        # The same for everyone until the window ends: browsers and CDNs keep it.
        return JSONResponse(body, headers={"Cache-Control": f"public, max-age={left}"})

    return router
