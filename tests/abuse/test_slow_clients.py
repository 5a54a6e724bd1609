"""Slowloris at both edges: hundreds of clients trickling their headers or their body are
cut off after the edge's header or body read time, while normal clients are served all
along; at the order service the slow bodies no longer hold its in-flight slots for ever.

Each edge is the real process (`python -m gateway`, `python -m order_service`) with the
deadlines of flashsale/slow_clients.py set to 1 s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from flashsale.settings import InfraSettings
from tests.abuse.edges import running_edge, service_env

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEADLINES = {
    "FLASHSALE_GATEWAY_HEADER_TIMEOUT_S": "1",
    "FLASHSALE_GATEWAY_BODY_TIMEOUT_S": "1",
    "FLASHSALE_HEADER_TIMEOUT_S": "1",
    "FLASHSALE_BODY_TIMEOUT_S": "1",
}
PARTIAL_HEADERS = b"POST /api/sales/s/orders HTTP/1.1\r\nHost: edge\r\n"
PARTIAL_BODY = (
    b"POST /api/sales/s/orders HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
    b"Content-Length: 200\r\n\r\n{"
)


async def slow_client(port: int, opening: bytes, trickle: bytes, give_up_s: float) -> float:
    """Send `opening`, then `trickle` every 0.2 s; the seconds until the edge hung up."""
    # Timed from before the connect: the edge's clock starts at its accept, which is later,
    # so a busy test loop that resumes late cannot make a cut look early.
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(opening)
    try:
        while time.monotonic() - started < give_up_s:
            try:
                if await asyncio.wait_for(reader.read(4096), 0.2) == b"":
                    break  # the edge closed the connection (after its 408, if any)
            except TimeoutError:
                writer.write(trickle)  # one more byte: a slow client, not an idle one
                await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def normal_requests(url: str, seconds: float) -> list[float]:
    """GET /healthz in a loop for `seconds`: each answer's latency."""
    latencies = []
    async with httpx.AsyncClient(timeout=2) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert (await client.get(f"{url}/healthz")).status_code == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
    return latencies


async def siege(
    url: str, opening: bytes, trickle: bytes, clients: int
) -> tuple[list[float], list[float]]:
    port = int(url.rsplit(":", 1)[1])
    slow = [slow_client(port, opening, trickle, give_up_s=8) for _ in range(clients)]
    *held, latencies = await asyncio.gather(*slow, normal_requests(url, 2.5))
    return held, latencies


@pytest.mark.parametrize("edge", ["gateway", "order_service"])
@pytest.mark.parametrize(
    ("opening", "trickle"), [(PARTIAL_HEADERS, b"X"), (PARTIAL_BODY, b" ")], ids=["headers", "body"]
)
async def test_slow_clients_are_cut_off_while_normal_ones_are_served(
    infra: InfraSettings, tmp_path: Path, edge: str, opening: bytes, trickle: bytes
) -> None:
    env = service_env(infra, **DEADLINES, FLASHSALE_GATEWAY_CLIENT_RATE="100000",
                      FLASHSALE_GATEWAY_CLIENT_BURST="100000")  # fmt: skip
    with running_edge(edge, env, tmp_path) as server:
        held, latencies = await siege(server.url, opening, trickle, clients=300)
    # 1 s deadline; the slack is the 2-core machine scheduling 300 clients at once.
    assert max(held) < 5, f"a slow client held its connection {max(held):.1f} s"
    assert min(held) > 0.8, "cut off before its deadline"
    assert len(latencies) >= 10 and max(latencies) < 2, latencies
