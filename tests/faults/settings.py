"""The fault suite's knobs: FLASHSALE_NEMESIS_* env vars (make nemesis SEED=... sets them)."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NemesisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLASHSALE_NEMESIS_", extra="ignore")

    # Seconds of sustained load under the nemesis (3 minutes in `make test`, 10 documented).
    s: float = Field(180.0, gt=0)
    # Seeds every random choice of the fault tests (which fault, when, which process):
    # a failing run prints it, and the same seed replays the same faults. Unset: random.
    seed: int = Field(default_factory=lambda: secrets.randbelow(2**31))
    # Attempts per second the nemesis' clients offer, across its sales.
    rate: float = Field(250.0, gt=0)
