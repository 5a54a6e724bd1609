"""The demo's sale, created through the order service's admin API like an operator would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from flashsale.demo.settings import DemoSettings

__all__ = ["create_sale"]


def create_sale(settings: DemoSettings, sale_id: str, stock: int) -> None:
    """A sale open from a second ago for an hour, one unit per buyer."""
    now = datetime.now(UTC)
    created = httpx.post(
        f"{settings.order_service_url}/admin/sales",
        headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"},
        json={
            "sale_id": sale_id,
            "name": "Demo flash sale",
            "stock": stock,
            "per_user_limit": 1,
            "starts_at": (now - timedelta(seconds=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        timeout=10,
    )
    created.raise_for_status()
