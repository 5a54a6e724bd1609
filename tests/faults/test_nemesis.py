"""The nemesis: a sustained load across several sales for FLASHSALE_NEMESIS_S seconds,
a random fault every 10-30 s (kill or pause a process, restart a broker, Redis or
PostgreSQL), then a drain and the full audit. 0 violations is the only pass.

`make nemesis SEED=...` replays a run: the seed is printed and in .run/faults/nemesis.json.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict

import orjson
import pytest

from tests.faults.audit import audit
from tests.faults.load import Load
from tests.faults.nemesis import run_nemesis
from tests.faults.record import write_record
from tests.faults.sales import SaleRotation
from tests.faults.settings import NemesisSettings
from tests.faults.stack import FaultStack

SETTINGS = NemesisSettings()
STOCK = 2000  # per sale: each sells out within seconds, and the next one opens
DRAIN_S = 240.0

pytestmark = [pytest.mark.faults, pytest.mark.timeout(int(SETTINGS.s + DRAIN_S + 300))]


def test_nemesis(stack: FaultStack) -> None:
    seed = SETTINGS.seed
    print(f"\nnemesis: FLASHSALE_NEMESIS_SEED={seed}, {SETTINGS.s:.0f} s at {SETTINGS.rate}/s")
    rng = random.Random(seed)
    sales = math.ceil(SETTINGS.rate * SETTINGS.s / STOCK) + 1
    rotation = SaleRotation.create(stack, sales, STOCK, active=3)
    load = Load(stack.gateway_url, rotation, SETTINGS.rate, seed=seed).start()
    try:
        strikes = run_nemesis(stack, rng, SETTINGS.s)
    finally:
        result = load.stop()
    checked = audit(stack, result, rotation.stock, DRAIN_S)
    cli = stack.flashsale("check", "--json", "--drain-s", "60")
    if cli.returncode != 0:  # the operator's own command, over every sale of the stack
        checked.violations.append(f"flashsale check exited {cli.returncode}: {cli.stdout[-2000:]}")
    record = write_record(
        "nemesis",
        f"nemesis seed {seed}",
        result,
        checked,
        None,
        seed=seed,
        duration_s=SETTINGS.s,
        rate=SETTINGS.rate,
        strikes=[asdict(s) for s in strikes],
        flashsale_check=orjson.loads(cli.stdout[cli.stdout.find("{") :] or "{}"),
    )
    assert record.tokens > 0, "the load got no 202 at all"
    assert record.violations == [], f"{record.line()} (replay: FLASHSALE_NEMESIS_SEED={seed})"
