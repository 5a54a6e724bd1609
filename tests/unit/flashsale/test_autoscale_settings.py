"""The pool's settings (flashsale/autoscale/settings.py): the FLASHSALE_POOL_* variables,
their defaults, and the combinations refused before a worker starts."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from flashsale.autoscale.settings import PoolSettings


def test_defaults_are_the_issues_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FLASHSALE_POOL_"):
            monkeypatch.delenv(name)
    settings = PoolSettings()
    assert (settings.min_workers, settings.max_workers) == (1, 4)
    assert (settings.scale_up_lag, settings.scale_down_lag) == (10_000, 1_000)
    assert (settings.cooldown_s, settings.poll_s, settings.metrics_port) == (15, 1, None)


def test_read_from_flashsale_pool_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHSALE_POOL_MAX_WORKERS", "3")
    monkeypatch.setenv("FLASHSALE_POOL_SCALE_UP_LAG", "300")
    monkeypatch.setenv("FLASHSALE_POOL_SCALE_DOWN_LAG", "30")
    monkeypatch.setenv("FLASHSALE_POOL_METRICS_PORT", "18091")
    settings = PoolSettings()
    assert (settings.max_workers, settings.scale_up_lag, settings.scale_down_lag) == (3, 300, 30)
    assert settings.metrics_port == 18091


@pytest.mark.parametrize(
    "bad",
    [
        {"min_workers": 5, "max_workers": 4},
        {"scale_up_lag": 100, "scale_down_lag": 100},
        {"min_workers": 0},
        {"poll_s": 0},
    ],
)
def test_nonsense_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        PoolSettings(**bad)  # type: ignore[arg-type]
