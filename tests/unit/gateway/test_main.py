"""`python -m gateway`: logging set up, then uvicorn on the app factory."""

from __future__ import annotations

import pytest

from gateway import __main__ as entry


def test_main_serves_the_app_factory_on_the_configured_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setenv("FLASHSALE_GATEWAY_PORT", "18999")
    monkeypatch.setattr(entry, "configure_logging", lambda service: calls.append((service,)))
    monkeypatch.setattr(entry, "serve_asgi", lambda *args, **kw: calls.append((*args, kw)))
    entry.main()
    assert calls[0] == ("gateway",)
    factory, host, port, options = calls[1]
    assert (factory, host, port) == ("gateway.app:create_app", "127.0.0.1", 18999)
    # Slowloris: both read deadlines reach the server (flashsale/slow_clients.py).
    assert (options["header_timeout_s"], options["body_timeout_s"]) == (10.0, 30.0)
