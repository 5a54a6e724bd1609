"""`python -m dashboard`: logging set up, then uvicorn on the app factory."""

from __future__ import annotations

import pytest

from dashboard import __main__ as entry


def test_main_serves_the_app_factory_on_the_configured_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setenv("FLASHSALE_DASHBOARD_PORT", "18998")
    monkeypatch.setattr(entry, "configure_logging", lambda service: calls.append((service,)))
    monkeypatch.setattr(entry, "serve_asgi", lambda *args: calls.append(args))
    entry.main()
    assert calls == [("dashboard",), ("dashboard.app:create_app", "127.0.0.1", 18998)]
