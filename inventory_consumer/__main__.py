"""Entry point: `python -m inventory_consumer`. Runs until SIGTERM/SIGINT.

One process runs the batched order consumer (main thread) plus two worker threads: the
outbox relay and the unpaid-order expiry. Both are safe with several processes (advisory
lock + SKIP LOCKED; see relay.py and expiry.py); disable them per process with
FLASHSALE_RELAY_ENABLED=false / FLASHSALE_EXPIRY_ENABLED=false.

SIGTERM: the batch in hand is finished and its offsets committed, then the consumer closes.
"""

import logging
import signal
import threading

from prometheus_client import start_http_server

from flashsale.metrics import PrometheusMetrics
from inventory_consumer.bootstrap import bootstrap
from inventory_consumer.settings import InventoryConsumerSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = InventoryConsumerSettings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr="127.0.0.1")
    bootstrap(settings, stop, metrics=PrometheusMetrics()).run()


if __name__ == "__main__":
    main()
