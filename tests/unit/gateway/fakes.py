"""Hand-written fakes of the gateway's ports (gateway/ports.py) and of the ASGI plumbing
around them: no network, no event loop tricks."""

from __future__ import annotations

from dataclasses import fields

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flashsale.asgi import SoldOutFlags
from gateway.bucket import GcraBucket, KeyedBuckets, Rate
from gateway.clients import ClientKeys
from gateway.handlers import Admission
from gateway.ports import LagUnavailable, Outcomes, UpstreamReply
from gateway.proof_of_work import ProofOfWork
from gateway.proxy import ApiProxy

__all__ = [
    "CountingApp",
    "FakeClock",
    "FakeLagReader",
    "FakeSharedBucket",
    "FakeUpstream",
    "Tally",
    "asgi_call",
    "tallies",
    "tally",
]


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeUpstream:
    """gateway.ports.Upstream: answers `reply` (or raises `error`), records what was sent."""

    def __init__(self, reply: UpstreamReply | None = None, error: Exception | None = None) -> None:
        self.reply = reply or UpstreamReply(202, b"{}", {"content-type": "application/json"})
        self.error = error
        self.sent: list[tuple[str, str, bytes, dict[str, str], str | None]] = []
        self.started = self.closed = False

    async def start(self) -> None:
        self.started = True

    async def forward(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        user: str | None = None,
    ) -> UpstreamReply:
        self.sent.append((method, path, body, headers, user))
        if self.error is not None:
            raise self.error
        return self.reply

    async def aclose(self) -> None:
        self.closed = True


class FakeSharedBucket:
    """gateway.ports.SharedBucket: hands out the given waits in turn, then admits."""

    def __init__(self, *waits: float) -> None:
        self.waits = list(waits)
        self.asked = 0

    async def take(self) -> float:
        self.asked += 1
        return self.waits.pop(0) if self.waits else 0.0


class FakeLagReader:
    """gateway.ports.LagReader: hands out the given lags (an exception is raised) in turn,
    then the last one for ever."""

    def __init__(self, *lags: int | LagUnavailable | None) -> None:
        self.lags = list(lags)
        self.reads = 0
        self.closed = False

    async def read(self) -> int | None:
        self.reads += 1
        lag = self.lags.pop(0) if len(self.lags) > 1 else self.lags[0]
        if isinstance(lag, LagUnavailable):
            raise lag
        return lag

    async def aclose(self) -> None:
        self.closed = True


class Tally:
    """gateway.ports.Count: a plain number."""

    def __init__(self) -> None:
        self.n = 0

    def inc(self) -> None:
        self.n += 1


def tallies() -> Outcomes:
    """gateway.ports.Outcomes of Tally counts."""
    return Outcomes(**{f.name: Tally() for f in fields(Outcomes)})


def tally(outcomes: Outcomes) -> dict[str, int]:
    """The outcomes counted so far, by name (those at zero left out)."""
    counted = {f.name: getattr(outcomes, f.name).n for f in fields(outcomes)}
    return {name: n for name, n in counted.items() if n}


def api_proxy(
    upstream: FakeUpstream, trusted: list[str] | None = None, proofs: ProofOfWork | None = None
) -> ApiProxy:
    """The /api/ proxy over `upstream`, with roomy buckets and Tally outcomes."""
    clock = FakeClock()
    admission = Admission(
        KeyedBuckets(Rate(1, 1), 10, clock), GcraBucket(Rate(1, 1), clock), SoldOutFlags(1.0, clock)
    )
    clients = ClientKeys(trusted or [])
    return ApiProxy(upstream, admission, clients, tallies(), 4096, retry_after_s=2, proofs=proofs)


class CountingApp:
    """The ASGI app behind the edge: answers 202 and counts what got through."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def asgi_call(
    app: ASGIApp,
    method: str = "POST",
    path: str = "/api/sales/s1/orders",
    peer: str = "10.0.0.1",
    body: bytes = b"",
    query: bytes = b"",
    **headers: str,
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP request through a raw ASGI app: (status, headers, body) of its answer.
    Header keywords are written the Python way: x_forwarded_for=... for X-Forwarded-For."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "client": (peer, 5555),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]
