"""The dashboard reads the variables `.run/services.env` carries for the services."""

from __future__ import annotations

import pytest

from dashboard.settings import DashboardSettings


def test_the_defaults_are_the_local_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in ("GATEWAY_URL", "ORDER_SERVICE_URL", "DASHBOARD_PORT"):
        monkeypatch.delenv(f"FLASHSALE_{service}", raising=False)
    settings = DashboardSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 18090)
    assert settings.gateway_url == "http://127.0.0.1:18080"
    assert settings.order_service_url == "http://127.0.0.1:18081"
    assert settings.sale_id is None


def test_the_environment_names_what_to_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHSALE_DASHBOARD_PORT", "19999")
    monkeypatch.setenv("FLASHSALE_GATEWAY_URL", "http://gw:1")
    monkeypatch.setenv("FLASHSALE_DASHBOARD_SALE_ID", "s1")
    monkeypatch.setenv("FLASHSALE_PORT", "1")  # nobody's port: not the dashboard's
    settings = DashboardSettings()
    assert (settings.port, settings.gateway_url, settings.sale_id) == (19999, "http://gw:1", "s1")
