"""What every service's `__main__` does, written once: log setup, SIGTERM handling, the
Prometheus listener of a consumer and the uvicorn settings of an HTTP service."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the consumers import this module too, and never need uvicorn
    import uvicorn

__all__ = [
    "client_id",
    "configure_logging",
    "expose_metrics",
    "freeze_startup_heap",
    "serve_asgi",
    "stop_on_signals",
]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(service: str, level: str = "INFO") -> None:
    """Libraries at WARNING, the service's own package and the kernel at `level`."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    for name in (service, "flashsale"):
        logging.getLogger(name).setLevel(level.upper())


def client_id(service_name: str) -> str:
    """This process's Kafka client id: which host and pid a broker log line came from."""
    return f"{service_name}-{socket.gethostname()}-{os.getpid()}"


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM or SIGINT sets: the poll loop finishes its batch and exits."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def expose_metrics(port: int | None, host: str) -> None:
    """Serve the process's Prometheus registry on host:port (None: no listener)."""
    if port is not None:
        from prometheus_client import start_http_server

        start_http_server(port, addr=host)


def freeze_startup_heap() -> None:
    """Collect once, then move every object still tracked out of the cyclic collector's
    reach, for the rest of the process's life.

    Started, a service holds about 130K tracked objects (FastAPI, pydantic, prometheus,
    confluent-kafka, its wiring) that live as long as it does, and every full collection
    walks them all: about 60 ms on this machine, during which the event loop answers no
    one. Requests allocate containers all the time (ASGI messages, futures, coroutines),
    so full collections come every few seconds, and each one lands on every request in
    flight: it was the admission path's p99 (61 ms with it, 24 ms frozen, same run).
    Frozen, a full collection only walks what was allocated since. The collection first
    frees the startup's own garbage; the cost left: a cycle among the frozen objects that
    becomes garbage later is never freed, so long-lived objects must not be left to the
    cyclic collector (flashsale/async_producer.py replaces its client without a cycle).
    """
    gc.collect()
    gc.freeze()


def serve_asgi(
    factory: str,
    host: str,
    port: int,
    *,
    workers: int = 1,
    header_timeout_s: float = 10.0,
    body_timeout_s: float = 30.0,
) -> None:
    """Run an app factory ("package.module:function") with the settings the benchmarks
    measured: uvloop, httptools, no access log (a line per request halves throughput), the
    startup heap frozen once the app has started, in `workers` processes
    (flashsale/workers.py).
    A client gets `header_timeout_s` to send its headers and `body_timeout_s` its body
    (flashsale/slow_clients.py: Slowloris)."""
    import uvicorn

    from flashsale.slow_clients import slow_client_protocol

    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http=slow_client_protocol(header_timeout_s, body_timeout_s),
        access_log=False,
        log_level="warning",
    )
    if workers <= 1:
        _server(config).run()
        return
    # Several processes on one socket (workers.py): uvicorn's own `workers` would spawn
    # them and pickle this config, which the slow-client protocol class does not survive.
    from flashsale.workers import run_workers

    run_workers(lambda sockets: _server(config).run(sockets=sockets), config.bind_socket(), workers)


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, its heap frozen once the app's lifespan has started."""
    import uvicorn

    class FrozenHeapServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            freeze_startup_heap()

    return FrozenHeapServer(config)
