"""Entry point: `python -m notification_consumer`. Runs until SIGTERM/SIGINT, which lets the
batch in hand finish, commits its offsets and closes."""

import logging
import signal
import threading

from flashsale.metrics import PrometheusMetrics
from notification_consumer.bootstrap import bootstrap
from notification_consumer.settings import NotificationConsumerSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    bootstrap(NotificationConsumerSettings(), stop, metrics=PrometheusMetrics()).run()


if __name__ == "__main__":
    main()
