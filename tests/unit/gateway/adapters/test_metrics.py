"""The Prometheus adapter: the catalog's gateway families, the outcome children bound at
start, the gauges read at scrape time, and an exposition the Prometheus parser reads."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from flashsale.metric_catalog import families_of
from gateway.adapters.metrics import PrometheusMetrics
from gateway.ports import GaugeReading


def scrape(metrics: PrometheusMetrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(body.decode())
    }


def test_every_gateway_family_of_the_catalog_and_nothing_else() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    metrics.read_gauges_with(lambda: GaugeReading(12.5, 2000.0, False))
    scraped = scrape(metrics)
    # The parser names a counter family without its _total suffix, and lists the counter's
    # creation timestamps (_created) as a family of their own.
    expected = {f.name.removesuffix("_total") for f in families_of("gateway")}
    assert set(scraped) == expected | {"flashsale_gateway_requests_created"}
    outcomes = {"forwarded", "rate_limited", "sold_out", "too_large", "upstream_error", "no_proof"}
    requests = scraped["flashsale_gateway_requests"]
    assert requests == {(("outcome", o),): 0.0 for o in outcomes}  # listed before any request
    assert scraped["flashsale_gateway_bucket_tokens"] == {(): 12.5}
    assert scraped["flashsale_gateway_global_rate"] == {(): 2000.0}
    assert scraped["flashsale_gateway_backpressure"] == {(): 0.0}


def test_counts_and_gauges_as_they_are_at_scrape_time() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    state = {"tokens": 3.0, "engaged": False}
    metrics.read_gauges_with(lambda: GaugeReading(state["tokens"], 500.0, bool(state["engaged"])))
    for _ in range(3):
        metrics.outcomes.rate_limited.inc()
    metrics.outcomes.forwarded.inc()
    state.update(tokens=0.0, engaged=True)
    scraped = scrape(metrics)
    assert scraped["flashsale_gateway_requests"][(("outcome", "rate_limited"),)] == 3
    assert scraped["flashsale_gateway_requests"][(("outcome", "forwarded"),)] == 1
    assert scraped["flashsale_gateway_bucket_tokens"] == {(): 0.0}
    assert scraped["flashsale_gateway_backpressure"] == {(): 1.0}


def test_two_gateways_in_one_process_do_not_collide() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.outcomes.sold_out.inc()
    assert "process_cpu_seconds_total" in first.exposition()[0].decode()
    sold_out = (("outcome", "sold_out"),)
    assert scrape(second)["flashsale_gateway_requests"][sold_out] == 0
