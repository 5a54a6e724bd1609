"""The load test's settings and options: where the system is (env vars, else the
`.run/services.env` that `make up` writes), the `--shape`/sale options of the command line,
and the sale itself, created once through the order service's admin API like an operator
would (on the master or the local runner only; workers receive its id with the options)."""

from __future__ import annotations

import logging
import uuid
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SHAPES", "LoadTestSettings", "add_options", "ensure_sale"]

log = logging.getLogger("loadtest")

SHAPES = ("steady", "spike", "soak")


class LoadTestSettings(BaseSettings):
    # Variables already in the environment win over the file (the e2e stack, a container).
    model_config = SettingsConfigDict(
        env_prefix="FLASHSALE_", extra="ignore", env_file=".run/services.env"
    )

    # The buyers' way in: the gateway's base URL (also Locust's --host when none is given).
    gateway_url: str
    # Where the load test creates its sale (POST /admin/sales).
    order_service_url: str
    # The order service's admin bearer token (make up generates one).
    admin_token: SecretStr


def add_options(parser: Any) -> None:
    """Locust's own parser (configargparse): the options show in --help and the web UI,
    and the master hands them to its workers."""
    group = parser.add_argument_group("flashsale")
    group.add_argument("--shape", choices=SHAPES, default="steady", help="The load profile")
    group.add_argument(
        "--sale-id", default="", help="The sale to buy from; created if missing (default: new)"
    )
    group.add_argument("--stock", type=int, default=1000, help="Units of a created sale")
    group.add_argument("--per-user-limit", type=int, default=1, help="Of a created sale")
    group.add_argument("--pay-share", type=float, default=0.7, help="Buyers who pay (0..1)")
    group.add_argument("--spike-factor", type=float, default=20, help="Burst: x the baseline")
    group.add_argument("--spike-at", type=float, default=30, help="Burst starts (s)")
    group.add_argument("--spike-for", type=float, default=10, help="Burst lasts (s)")
    group.add_argument("--soak-for", type=float, default=3600, help="Soak without --run-time")


def ensure_sale(options: Namespace) -> str:
    """The sale the buyers buy from: `--sale-id` if it exists, else created now with
    `--stock` and `--per-user-limit`, open from a second ago for the run and an hour."""
    settings = LoadTestSettings()  # type: ignore[call-arg]  # from the environment
    sale_id = options.sale_id or f"loadtest-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    created = httpx.post(
        f"{settings.order_service_url}/admin/sales",
        headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"},
        json={
            "sale_id": sale_id,
            "name": "Locust load test",
            "stock": options.stock,
            "per_user_limit": options.per_user_limit,
            "starts_at": (now - timedelta(seconds=1)).isoformat(),
            "ends_at": (now + timedelta(seconds=(options.run_time or 0) + 3600)).isoformat(),
        },
        timeout=10,
    )
    if created.status_code == 409 and created.json().get("error") == "sale_exists":
        log.info("sale %s exists: buying from it as it is", sale_id)
    else:
        created.raise_for_status()
        log.info("sale %s: %d units, %d per buyer", sale_id, options.stock, options.per_user_limit)
    return sale_id
