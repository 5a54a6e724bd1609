"""Toxiproxy for the fault tests: the server (infra/local/toxiproxy.sh, built from the Go
module proxy on first use) and a small client for its HTTP API.

    with toxiproxy_server(port) as toxiproxy:            # or Toxiproxy(port).start()/.stop()
        proxy = toxiproxy.proxy("kafka-1", 29100, "127.0.0.1:29094")
        proxy.latency(500, jitter=50)                    # stays until clear()
        proxy.reset_peer()                               # every connection reset (RST)
        proxy.clear()                                    # every toxic of this proxy gone
        with proxy.toxic("latency", latency=6000):       # removed when the block ends
            ...
        name = proxy.add_toxic("reset_peer", "upstream", timeout=100)  # any toxic type
        proxy.remove_toxic(name)
        toxiproxy.reset()                                # every toxic of every proxy gone

`proxy.listen` is the address clients use ("127.0.0.1:29100"). `latency` and `reset_peer`
return the toxic's name, for `remove_toxic`.

Toxics apply to open connections too, not just to new ones. `stream` is the direction:
"downstream" (the default) is what the upstream server sends back to the client.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.infra import ROOT
from tests.random_refs import suffix

__all__ = ["Proxy", "Toxiproxy", "toxiproxy_server"]

SCRIPT = ROOT / "infra/local/toxiproxy.sh"


@dataclass
class Proxy:
    """One TCP proxy: clients connect to `listen`, Toxiproxy forwards to `upstream`."""

    api: httpx.Client
    name: str
    listen: str
    upstream: str

    def add_toxic(self, kind: str, stream: str = "downstream", **attributes: Any) -> str:
        """Add a toxic that stays until removed; returns its name."""
        name = f"{kind}-{stream}-{suffix()}"
        body = {"name": name, "type": kind, "stream": stream, "toxicity": 1.0}
        answer = self.api.post(
            f"/proxies/{self.name}/toxics", json={**body, "attributes": attributes}
        )
        answer.raise_for_status()
        return name

    def remove_toxic(self, name: str) -> None:
        answer = self.api.delete(f"/proxies/{self.name}/toxics/{name}")
        if answer.status_code != 404:  # already gone (a clear() or reset() came first)
            answer.raise_for_status()

    def latency(self, ms: int, jitter: int = 0, stream: str = "downstream") -> str:
        """Every chunk of data waits `ms` (+/- `jitter`) milliseconds."""
        return self.add_toxic("latency", stream, latency=ms, jitter=jitter)

    def reset_peer(self, timeout_ms: int = 0, stream: str = "downstream") -> str:
        """Connections are reset (TCP RST) after `timeout_ms`; 0: at once."""
        return self.add_toxic("reset_peer", stream, timeout=timeout_ms)

    def clear(self) -> None:
        """Remove every toxic of this proxy."""
        answer = self.api.get(f"/proxies/{self.name}/toxics")
        answer.raise_for_status()
        for toxic in answer.json():
            self.remove_toxic(toxic["name"])

    @contextmanager
    def toxic(self, kind: str, stream: str = "downstream", **attributes: Any) -> Iterator[str]:
        """A toxic for the duration of the block, removed even when the block fails."""
        name = self.add_toxic(kind, stream, **attributes)
        try:
            yield name
        finally:
            self.remove_toxic(name)


@dataclass
class Toxiproxy:
    """The Toxiproxy server on 127.0.0.1:`port`, its pid file and log under `run_dir`
    (a temporary directory when None)."""

    port: int
    run_dir: Path | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # One client for the server and its proxies; it connects on first use.
        self.api = httpx.Client(base_url=self.url, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _script(self, action: str) -> None:
        assert self.run_dir is not None
        env = {
            **os.environ,
            "FLASHSALE_RUN_DIR": str(self.run_dir),
            "FLASHSALE_TOXIPROXY_PORT": str(self.port),
        }
        # The first install builds from source (about 40 s), later ones are no-ops.
        subprocess.run(["bash", str(SCRIPT), action], env=env, check=True, timeout=600)

    def start(self) -> Toxiproxy:
        if self.run_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="flashsale-toxiproxy-")
            self.run_dir = Path(self._tmp.name)
        self._script("up")  # installs first when need be
        return self

    def stop(self) -> None:
        self.api.close()
        try:
            self._script("down")
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp, self.run_dir = None, None

    def proxy(self, name: str, listen_port: int, upstream: str) -> Proxy:
        """A new proxy (an old one of that name is replaced) with no toxic."""
        self.api.delete(f"/proxies/{name}")  # 404 when there is none: fine
        listen = f"127.0.0.1:{listen_port}"
        answer = self.api.post(
            "/proxies", json={"name": name, "listen": listen, "upstream": upstream}
        )
        answer.raise_for_status()
        return Proxy(self.api, name, listen, upstream)

    def reset(self) -> None:
        """Every proxy enabled again, with no toxic."""
        self.api.post("/reset").raise_for_status()


@contextmanager
def toxiproxy_server(port: int) -> Iterator[Toxiproxy]:
    server = Toxiproxy(port)
    try:
        yield server.start()  # inside the try: a half-started server is stopped too
    finally:
        server.stop()
