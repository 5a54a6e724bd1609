"""What every service's `__main__` does, written once: log setup, SIGTERM handling, the
Prometheus listener of a consumer and the uvicorn settings of an HTTP service."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

__all__ = ["client_id", "configure_logging", "expose_metrics", "serve_asgi", "stop_on_signals"]

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
    measured: uvloop, httptools, no access log (a line per request halves throughput), in
    `workers` processes (flashsale/workers.py).
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
        uvicorn.Server(config).run()
        return
    # Several processes on one socket (workers.py): uvicorn's own `workers` would spawn
    # them and pickle this config, which the slow-client protocol class does not survive.
    from flashsale.workers import run_workers

    run_workers(
        lambda sockets: uvicorn.Server(config).run(sockets=sockets), config.bind_socket(), workers
    )
