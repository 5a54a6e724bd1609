"""serve_asgi freezes the heap once the app's lifespan has started, not before, with one
worker or several: what the app builds at startup (its clients, its wiring) is then out
of the collector's reach, and a full collection no longer stalls every request in
flight (process.py).

The real thing, in a process of its own (the freeze is process-wide): an app that reads
gc.get_freeze_count() in its lifespan startup and again when asked over HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.net import free_port
from tests.polling import eventually

APP = textwrap.dedent(
    """
    import gc, json

    def create_app():
        at_startup = []

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        at_startup.append(gc.get_freeze_count())
                        await send({"type": "lifespan.startup.complete"})
                    else:
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            counts = {"at_startup": at_startup[0], "serving": gc.get_freeze_count()}
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": json.dumps(counts).encode()})

        return app
    """
)
SERVE = "from flashsale.process import serve_asgi; serve_asgi({!r}, '127.0.0.1', {}, workers={})"


@pytest.mark.parametrize("workers", [1, 2])
def test_the_heap_is_frozen_after_the_lifespan_started(tmp_path: Path, workers: int) -> None:
    (tmp_path / "counting_app.py").write_text(APP)
    port = free_port()
    code = SERVE.format("counting_app:create_app", port, workers)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{root}"}
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        counts = eventually(lambda: _counts(port), 30, "the server to answer")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert counts["at_startup"] == 0  # nothing frozen while the app was starting
    assert counts["serving"] > 10_000  # then its whole startup heap: uvicorn, the app


def _counts(port: int) -> dict[str, int] | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    except httpx.TransportError:
        return None
    counts: dict[str, int] = answer.json()
    return counts
