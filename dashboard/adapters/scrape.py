"""A service's /metrics over HTTP, parsed by prometheus-client's own text parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["HttpCounterScrape", "HttpGaugeScrape", "counter_by_label", "gauge_value"]


def counter_by_label(text: str, family: str, label: str) -> dict[str, float]:
    """The counter `family` (its full name, `_total` included) by `label`'s value, summed
    over any other labels; {} when the text has no such family."""
    values: dict[str, float] = {}
    for metrics in text_string_to_metric_families(text):
        for sample in metrics.samples:
            if sample.name == family and label in sample.labels:
                key = sample.labels[label]
                values[key] = values.get(key, 0.0) + sample.value
    return values


class HttpCounterScrape:
    def __init__(self, client: httpx.AsyncClient, base_url: str, family: str, label: str):
        self._client, self._family, self._label = client, family, label
        self._url = base_url.rstrip("/") + "/metrics"

    async def read(self) -> dict[str, float]:
        response = await self._client.get(self._url)
        response.raise_for_status()
        return counter_by_label(response.text, self._family, self._label)


def gauge_value(text: str, family: str) -> float | None:
    """The unlabelled gauge `family`, None when the text has no such sample."""
    for metrics in text_string_to_metric_families(text):
        for sample in metrics.samples:
            if sample.name == family and not sample.labels:
                return float(sample.value)
    return None


class HttpGaugeScrape:
    def __init__(self, client: httpx.AsyncClient, base_url: str, family: str):
        self._client, self._family = client, family
        self._url = base_url.rstrip("/") + "/metrics"

    async def read(self) -> float | None:
        response = await self._client.get(self._url)
        response.raise_for_status()
        return gauge_value(response.text, self._family)
