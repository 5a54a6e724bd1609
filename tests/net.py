"""Free loopback ports for the servers a test starts of its own."""

from __future__ import annotations

import socket


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair() -> int:
    """A free PORT whose PORT+1 is free too: a Kafka broker and its controller."""
    while True:
        port = free_port()
        if port < 65000 and port_is_free(port + 1):
            return port
