"""Schemathesis against both edges' OpenAPI documents, served by the real processes (the
order service, and the gateway in front of it) against the shared infra: a few hundred
generated requests per operation, valid and not. No 5xx but a documented 503, and every
status, body, content type and header as documented.

The gateway's per-client bucket is opened wide so that its requests reach the order
service (a 429 is documented too, but then the order service would see nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from tests.abuse.edges import create_sale_over_http, running_edges, service_env
from tests.random_refs import random_sale_id

pytestmark = [pytest.mark.integration, pytest.mark.faults]

EXAMPLES = 200
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
# A 503 is the one 5xx the API documents (with Retry-After): a store down, overloaded.
# Half the generated sale ids are a real sale's, so purchases get past unknown_sale.
CONFIG = """
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]

[dictionaries.sales]
values = ["{sale_id}"]

[parameters]
"path.sale_id" = {{ dictionary = "sales", probability = 0.5 }}
"""


def schemathesis(schema_url: str, config: Path, report: Path, *extra: str) -> str:
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file", str(config), "--no-color",
        "run", schema_url,
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
        "--generation-deterministic",
        "--request-timeout", "10",
        "--report", "junit", "--report-dir", str(report),
        *extra,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done.stdout


def test_both_edges_answer_only_what_their_openapi_documents_say(
    infra: InfraSettings, tmp_path: Path, redis_client: Redis
) -> None:
    env = service_env(infra)
    sale_id = random_sale_id()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(sale_id=sale_id))
    wide = {"FLASHSALE_GATEWAY_CLIENT_RATE": "100000", "FLASHSALE_GATEWAY_CLIENT_BURST": "100000"}
    with running_edges(env, tmp_path, **wide) as (gateway, orders):
        # A real sale, so that some generated purchases get past "unknown_sale".
        create_sale_over_http(orders.url, env["FLASHSALE_ADMIN_TOKEN"], sale_id, 50)
        auth = f"Authorization: Bearer {env['FLASHSALE_ADMIN_TOKEN']}"
        order_run = schemathesis(f"{orders.url}/openapi.json", config, tmp_path / "orders",
                                 "--header", auth)  # fmt: skip
        gateway_run = schemathesis(f"{gateway.url}/openapi.json", config, tmp_path / "gateway")
    print(order_run[-600:], gateway_run[-600:])
    assert "/api/sales/{sale_id}/orders" in gateway_run  # the passed-through API is in it
    # Generated purchases got all the way to a reservation, not only to the refusals.
    assert redis_client.hlen(SaleKeys(sale_id).buyers) > 0
