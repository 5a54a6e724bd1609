"""The metrics seam (flashsale/metrics.py) against the catalog: what a service registers at
start, what a typo costs, and that bound children count like the named calls."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flashsale.metric_catalog import CATALOG, families_of
from flashsale.metrics import Children, PrometheusMetrics, RecordingMetrics, bind

SERVICES = sorted({service for family in CATALOG for service in family.services})


def exposed(registry: CollectorRegistry) -> dict[str, str]:
    """Family name as the catalog spells it (counters with _total) -> its HELP text."""
    text = generate_latest(registry).decode()
    return {
        f.name + ("_total" if f.type == "counter" else ""): f.documentation
        for f in text_string_to_metric_families(text)
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_lists_every_family_of_its_own_before_the_first_event(service: str) -> None:
    registry = CollectorRegistry()
    PrometheusMetrics(registry, service=service)
    listed = exposed(registry)
    assert {f.name: f.help for f in families_of(service)}.items() <= listed.items()
    others = {f.name for f in CATALOG} - {f.name for f in families_of(service)}
    assert others.isdisjoint(listed)


def test_a_name_or_a_verb_the_catalog_does_not_have_is_an_error() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    with pytest.raises(KeyError, match="flashsale_admision_total"):
        metrics.inc("flashsale_admision_total", outcome="reserved")
    with pytest.raises(TypeError, match="counter"):
        metrics.observe("flashsale_admission_total", 1.0, outcome="reserved")
    with pytest.raises(ValueError, match="label"):
        metrics.inc("flashsale_admission_total", result="reserved")
    with pytest.raises(KeyError):
        bind(RecordingMetrics(), "flashsale_no_such_thing_total")
    with pytest.raises(KeyError, match="nobody"):
        PrometheusMetrics(CollectorRegistry(), service="nobody")


def test_a_bound_child_counts_into_the_same_series_as_a_named_call() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    reserved = bind(metrics, "flashsale_admission_total", outcome="reserved")
    reserved.inc()
    metrics.inc("flashsale_admission_total", outcome="reserved")
    PrometheusMetrics(registry).inc("flashsale_admission_total", 3, outcome="reserved")  # shared
    sample = registry.get_sample_value("flashsale_admission_total", {"outcome": "reserved"})
    assert sample == 5.0
    recording = RecordingMetrics()
    bind(recording, "flashsale_dlq_messages_total", consumer="inventory").inc(2)
    assert recording.count("flashsale_dlq_messages_total", consumer="inventory") == 2


def test_children_are_bound_once_and_a_forgotten_one_leaves_the_scrape() -> None:
    registry = CollectorRegistry()
    stock = Children(PrometheusMetrics(registry), "flashsale_stock_remaining")
    assert stock.of("s1") is stock.of("s1")
    stock.of("s1").set(7)
    stock.of("s2").set(3)
    stock.forget("s1")
    assert registry.get_sample_value("flashsale_stock_remaining", {"sale_id": "s1"}) is None
    assert registry.get_sample_value("flashsale_stock_remaining", {"sale_id": "s2"}) == 3.0


def test_batch_sizes_get_buckets_for_message_counts_not_seconds() -> None:
    registry = CollectorRegistry()
    bind(PrometheusMetrics(registry), "flashsale_batch_size", consumer="inventory").observe(300)
    labels = {"consumer": "inventory"}
    assert registry.get_sample_value("flashsale_batch_size_bucket", {**labels, "le": "200.0"}) == 0
    assert registry.get_sample_value("flashsale_batch_size_bucket", {**labels, "le": "500.0"}) == 1
