"""The bot deterrent (gateway/proof_of_work.py): a hashcash proof, stateless and bound to
its sale, user and window, verified before anything is forwarded. Off by default.

The unit tests check verify; the integration test buys through the real gateway process
with the proof of work on, in front of the real order service."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError
from redis import Redis
from starlette.types import Receive, Scope, Send

from flashsale.settings import InfraSettings
from flashsale.stock import SaleKeys
from gateway.adapters.metrics import REQUESTS
from gateway.ports import UpstreamReply
from gateway.proof_of_work import PROOF_REQUIRED, ProofGate, ProofOfWork
from gateway.settings import GatewaySettings
from tests.abuse.edges import create_sale_over_http, running_edges, service_env
from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS
from tests.polling import eventually
from tests.random_refs import random_sale_id, random_user_id
from tests.unit.gateway.fakes import FakeUpstream, Tally, api_proxy, asgi_call, tally

SECRET = b"s" * 32


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def solve(challenge: str, user_id: str, bits: int) -> str:
    """What the waiting-room page does, in Python: the first nonce with the zero bits."""
    for nonce in itertools.count():
        digest = hashlib.sha256(f"{challenge}.{user_id}.{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(nonce)
    raise AssertionError("unreachable")


def proof_for(proofs: ProofOfWork, sale_id: str, user_id: str) -> str:
    challenge, _ = proofs.challenge(sale_id)
    return f"{challenge}.{solve(challenge, user_id, proofs.difficulty_bits)}"


def accepts(proofs: ProofOfWork, sale_id: str, proof: str, user_id: str) -> bool:
    checked = proofs.fresh_challenge(sale_id, proof)
    return checked is not None and proofs.solved(*checked, user_id)


def test_a_solved_proof_is_accepted_for_its_sale_user_and_window_only() -> None:
    clock = Clock(1_000_000.0)
    proofs = ProofOfWork(SECRET, 12, 60, clock)
    proof = proof_for(proofs, "sale-a", "alice")
    assert accepts(proofs, "sale-a", proof, "alice")
    assert not accepts(proofs, "sale-b", proof, "alice")  # another sale
    assert not accepts(proofs, "sale-a", proof, "bob")  # another user: work of its own
    clock.now += 60  # the next window still takes it: solved at the end of the last one
    assert accepts(proofs, "sale-a", proof, "alice")
    clock.now += 60
    assert not accepts(proofs, "sale-a", proof, "alice")  # two windows on: expired


def test_forged_unsolved_and_malformed_proofs_are_refused() -> None:
    proofs = ProofOfWork(SECRET, 12, 60, Clock(1_000_000.0))
    challenge, _ = proofs.challenge("sale-a")
    window = challenge.split(".")[0]
    other = ProofOfWork(b"x" * 32, 12, 60, Clock(1_000_000.0))
    forged = proof_for(other, "sale-a", "alice")  # solved, but signed with another key
    assert not accepts(proofs, "sale-a", forged, "alice")
    future = f"{int(window) + 1}.{challenge.split('.')[1]}.1"
    assert not accepts(proofs, "sale-a", future, "alice")
    unsolved = next(
        f"{challenge}.{n}" for n in range(100) if not proofs.solved(challenge, str(n), "alice")
    )
    assert not accepts(proofs, "sale-a", unsolved, "alice")
    for junk in ("", "1.2", "x.y.z", f"{challenge}.", f"{challenge}.{'9' * 33}", "a.b.c.d"):
        assert proofs.fresh_challenge("sale-a", junk) is None, junk


class Upstream:
    """The app behind the gate: counts what reaches it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def test_the_gate_refuses_without_reading_the_body_and_passes_the_rest() -> None:
    proofs = ProofOfWork(SECRET, 12, 60, Clock(1_000_000.0))
    behind, refused = Upstream(), Tally()
    gate = ProofGate(behind, proofs, refused)
    no_proof = await asgi_call(gate, body=b"never read")
    assert no_proof[0] == 403 and no_proof[2] == PROOF_REQUIRED[1]["body"]
    forged = await asgi_call(gate, x_proof_of_work="1.2.3")
    assert forged[0] == 403 and behind.calls == 0
    assert refused.n == 2  # counted: flashsale_gateway_requests_total{outcome="no_proof"}
    # Not a purchase: status and payment go through; so does a signed, fresh proof,
    # whose work proxy.py checks once the body (and its user) is read.
    assert (await asgi_call(gate, method="GET", path="/api/orders/x"))[0] == 202
    assert (await asgi_call(gate, path="/api/orders/x/payment"))[0] == 202
    signed = proof_for(proofs, "s1", "alice")
    assert (await asgi_call(gate, x_proof_of_work=signed))[0] == 202
    assert behind.calls == 3 and refused.n == 2


async def test_a_signed_proof_not_solved_for_the_bodys_user_is_refused_and_counted() -> None:
    """The proxy's check, behind the gate: one refusal, one count, nothing forwarded."""
    proofs = ProofOfWork(SECRET, 12, 60, Clock(1_000_000.0))
    api = api_proxy(FakeUpstream(UpstreamReply(202, b"{}", {})), proofs=proofs)
    outcomes = api.outcomes
    gate = ProofGate(api, proofs, outcomes.no_proof)
    signed = proof_for(proofs, "s1", "alice")
    bob = await asgi_call(gate, body=b'{"user_id":"bob"}', x_proof_of_work=signed)
    assert bob[0] == 403 and tally(outcomes) == {"no_proof": 1}
    alice = await asgi_call(gate, body=b'{"user_id":"alice"}', x_proof_of_work=signed)
    assert alice[0] == 202 and tally(outcomes) == {"no_proof": 1, "forwarded": 1}


def test_it_is_off_by_default_and_needs_a_secret_when_on() -> None:
    assert GatewaySettings().pow_enabled is False
    with pytest.raises(ValidationError, match="POW_SECRET"):
        GatewaySettings(pow_enabled=True)
    with pytest.raises(ValidationError, match="POW_SECRET"):
        GatewaySettings(pow_enabled=True, pow_secret=SecretStr("x" * 31))
    assert GatewaySettings(pow_enabled=True, pow_secret=SecretStr("k" * 32)).pow_enabled


@pytest.mark.integration
def test_the_real_gateway_admits_only_purchases_with_a_valid_proof(
    infra: InfraSettings, tmp_path: Path, redis_client: Redis
) -> None:
    env = service_env(infra)
    pow_env = {
        "FLASHSALE_GATEWAY_POW_ENABLED": "true",
        "FLASHSALE_GATEWAY_POW_SECRET": "p" * 40,
        "FLASHSALE_GATEWAY_POW_DIFFICULTY_BITS": "12",
        "FLASHSALE_GATEWAY_CLIENT_RATE": "1000",
        "FLASHSALE_GATEWAY_CLIENT_BURST": "1000",
    }
    sale_id, alice, bob = random_sale_id("pow"), random_user_id("alice"), random_user_id("bob")
    with running_edges(env, tmp_path, **pow_env) as (gateway, orders):
        create_sale_over_http(orders.url, env["FLASHSALE_ADMIN_TOKEN"], sale_id, 10)
        url = f"{gateway.url}/api/sales/{sale_id}/orders"
        document = httpx.get(f"{gateway.url}/openapi.json", timeout=5).json()
        purchase = document["paths"]["/api/sales/{sale_id}/orders"]["post"]
        assert {"202", "403", "429", "503"} <= set(purchase["responses"])
        assert "X-Proof-Of-Work" in {p["name"] for p in purchase["parameters"]}
        assert "/pow/challenge" in document["paths"]
        asked = httpx.get(f"{gateway.url}/pow/challenge", params={"sale": sale_id}, timeout=5)
        assert asked.status_code == 200 and asked.json()["difficulty_bits"] == 12
        challenge = asked.json()["challenge"]
        proof = f"{challenge}.{solve(challenge, alice, 12)}"

        def buy(user: str, headers: dict[str, str]) -> httpx.Response:
            return httpx.post(url, json={"user_id": user}, headers=headers, timeout=10)

        refused = [
            buy(alice, {}),  # no proof
            buy(bob, {"X-Proof-Of-Work": proof}),  # alice's proof, bob's order
            buy(alice, {"X-Proof-Of-Work": f"{challenge}.x"}),  # not solved
        ]
        for answer in refused:
            assert (answer.status_code, answer.json()) == (
                403,
                {"error": "proof_of_work_required"},
            )
        # Both checks count their refusals: the gate (no proof), the proxy (not solved).
        assert no_proof_count(gateway.url) == 3
        bought = buy(alice, {"X-Proof-Of-Work": proof})
        assert bought.status_code == 202, bought.text
        again = buy(alice, {"X-Proof-Of-Work": proof})  # her proof again: her own answer
        assert again.json()["error"] == "already_purchased"
        # Nothing refused reached the order service: one unit reserved, by alice alone.
        keys = SaleKeys(sale_id)
        assert redis_client.get(keys.stock) == "9"
        assert set(redis_client.hkeys(keys.buyers)) == {alice}
        carol = random_user_id("carol")
        shown = buy_in_the_browser(f"{gateway.url}/waiting-room?sale={sale_id}&user={carol}")
        assert "Order" in shown, shown
        assert set(redis_client.hkeys(keys.buyers)) == {alice, carol}


def no_proof_count(gateway_url: str) -> float:
    scraped = httpx.get(f"{gateway_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == REQUESTS and sample.labels == {"outcome": "no_proof"}:
                return sample.value
    raise AssertionError(f"no {REQUESTS} sample for no_proof")


def buy_in_the_browser(page_url: str) -> str:
    """The waiting-room page in headless chromium: it solves the challenge with SubtleCrypto
    and buys; what it shows at the end."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: apt-get install -y chromium (make install does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_url)
            status = page.locator("#status")
            eventually(lambda: "Order" in status.inner_text(), 30, "the page's order")
            assert errors == []
            return status.inner_text()
        finally:
            browser.close()
