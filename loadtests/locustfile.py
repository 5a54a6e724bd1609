"""Buyers of a flash sale, through the gateway, as people behave: `make loadtest`.

Each Locust user is a stream of buyers. A buyer loads the waiting room, tries to buy (one
Idempotency-Key for all its tries; a 429 or 503 says when to come back: Retry-After),
polls its order until it is CREATED, then pays, or walks away and lets it expire (a share
set by --pay-share). The buyer is named by the trusted auth-proxy header, as the demo
does: `make up` trusts loopback (README, "Trust model"). Options: `locust --help`, under
"flashsale"; the shapes: locust_shapes.py; how to run it: docs/loadtest.md.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from typing import Any

from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from locust_options import LoadTestSettings, add_options, ensure_sale
from locust_shapes import ChosenShape

__all__ = ["Buyer", "ChosenShape"]

# A buyer comes back this many times after a Retry-After, then gives up.
MAX_TRIES = 10
# Polls of the order until CREATED, one every POLL_EVERY_S: the consumer writes within a
# second or two, unless a write cap holds the orders in Kafka for a while.
MAX_POLLS, POLL_EVERY_S = 60, 0.5
WAIT_STATUSES = {429, 503}
# Where a buyer's journey ends (no CREATED order to pay).
FINAL_STATUSES = {"PAID", "CANCELLED", "FAILED"}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    add_options(parser)


@events.init.add_listener
def _host(environment: Environment, **_: Any) -> None:
    # Workers take the host from the master; the others from the env when --host is absent.
    if not environment.host and not isinstance(environment.runner, WorkerRunner):
        environment.host = LoadTestSettings().gateway_url  # type: ignore[call-arg]


@events.test_start.add_listener
def _sale(environment: Environment, **_: Any) -> None:
    """Once per run, on the master (or the local runner): the workers get the sale's id in
    the options the master sends with each spawn."""
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    assert options is not None  # noqa: S101 (always set when run from the command line)
    options.sale_id = ensure_sale(options)


class Buyer(FastHttpUser):
    # A person reads the page between buyers, not a tight loop.
    wait_time = between(0.5, 3)
    _numbers = itertools.count()

    def on_start(self) -> None:
        runner = self.environment.runner
        worker = runner.worker_index if runner is not None else 0
        # Unique across distributed workers: worker index, then this user, then its buyers.
        self.prefix = f"lt-w{worker}-u{next(Buyer._numbers)}-{uuid.uuid4().hex[:6]}"
        self.buyers = itertools.count()

    @task
    def buy_as_a_person(self) -> None:
        options = self.environment.parsed_options
        user = f"{self.prefix}-b{next(self.buyers)}"
        headers = {"X-Authenticated-User": user}
        self.client.get("/waiting-room", name="waiting room", headers=headers)
        order_id = self.buy(options.sale_id, user, headers)
        if order_id is None or not self.created(order_id, headers):
            return
        if random.random() < options.pay_share:
            self.pay(order_id, headers)

    def buy(self, sale_id: str, user: str, headers: dict[str, str]) -> str | None:
        """The order's id, or None: sold out, or the buyer gave up."""
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        for _ in range(MAX_TRIES):
            with self.client.post(
                f"/api/sales/{sale_id}/orders",
                json={"user_id": user, "quantity": 1},
                headers=headers,
                name="buy",
                catch_response=True,
            ) as answer:
                retry_after = answer.headers.get("Retry-After")
                if answer.status_code not in WAIT_STATUSES or retry_after is None:
                    return order_of(answer)
                # The system working as designed: its own row, not a failure.
                answer.request_meta["name"] = f"buy: told to wait ({answer.status_code})"
                answer.success()
            time.sleep(float(retry_after) * random.uniform(1, 1.5))
        return None

    def created(self, order_id: str, headers: dict[str, str]) -> bool:
        """Polls the order until the consumer wrote it: CREATED (True), or ended."""
        for _ in range(MAX_POLLS):
            with self.client.get(
                f"/api/orders/{order_id}", name="order status", headers=headers,
                catch_response=True,
            ) as answer:  # fmt: skip
                # 404: not written yet, from an order service that has no pending copy.
                if answer.status_code == 404:
                    answer.success()
                    status = "PENDING"
                else:
                    status = answer.json()["status"] if answer.status_code == 200 else "ERROR"
            if status == "CREATED":
                return True
            if status in FINAL_STATUSES or status == "ERROR":
                return False
            time.sleep(POLL_EVERY_S)
        return False

    def pay(self, order_id: str, headers: dict[str, str]) -> None:
        with self.client.post(
            f"/api/orders/{order_id}/payment", name="pay", headers=headers, catch_response=True
        ) as answer:
            # 409: the expiry worker won the race (order_expired): a fair outcome.
            if answer.status_code == 409:
                answer.success()


def order_of(answer: Any) -> str | None:
    """202 and 409 already_purchased name an order; sold_out and sale_not_active end the
    buyer's try as the shop intends. Anything else is a failure of the system."""
    body = (
        answer.json()
        if answer.headers.get("Content-Type", "").startswith("application/json")
        else {}
    )
    if answer.status_code == 202 or body.get("error") == "already_purchased":
        answer.success()
        return str(body["order_id"])
    if answer.status_code == 409 and body.get("error") in {"sold_out", "sale_not_active"}:
        answer.success()
        return None
    answer.failure(
        f"{answer.status_code} {body.get('error', answer.text[:80] if answer.text else '')}"
    )
    return None
