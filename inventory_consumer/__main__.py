"""Entry point: `python -m inventory_consumer`. Runs until SIGTERM/SIGINT.

One process runs the batched order consumer (main thread) plus two worker threads: the
outbox relay and the unpaid-order expiry. Both are safe with several processes (advisory
lock + SKIP LOCKED; see workers/relay.py and workers/expiry.py); disable them per process
with FLASHSALE_RELAY_ENABLED=false / FLASHSALE_EXPIRY_ENABLED=false.

SIGTERM: the batch in hand is finished and its offsets committed, then the consumer closes.
That is how the autoscaling pool (`python -m inventory_consumer.pool`) and KEDA scale down.
"""

from flashsale.metrics import PrometheusMetrics
from flashsale.process import (
    configure_logging,
    expose_metrics,
    freeze_startup_heap,
    stop_on_signals,
)
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings


def main() -> None:
    settings = InventoryConsumerSettings()  # fails here, before connecting anywhere
    configure_logging("inventory_consumer")
    stop = stop_on_signals()
    expose_metrics(settings.metrics_port, settings.metrics_host)
    consumer = bootstrap(settings, stop, metrics=PrometheusMetrics(service="inventory_consumer"))
    freeze_startup_heap()
    consumer.run()


if __name__ == "__main__":
    main()
