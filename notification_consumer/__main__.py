"""Entry point: `python -m notification_consumer`. Runs until SIGTERM/SIGINT, which lets the
batch in hand finish, commits its offsets and closes. Its metrics (notifications sent and
failed, dead letters, batches; every family of the catalog listed from the start) are
served on FLASHSALE_NOTIFICATION_METRICS_PORT."""

from flashsale.metrics import PrometheusMetrics
from flashsale.process import (
    configure_logging,
    expose_metrics,
    freeze_startup_heap,
    stop_on_signals,
)
from notification_consumer.bootstrap import bootstrap
from notification_consumer.settings import NotificationConsumerSettings


def main() -> None:
    settings = NotificationConsumerSettings()  # fails here, before connecting anywhere
    configure_logging("notification_consumer")
    stop = stop_on_signals()
    expose_metrics(settings.metrics_port, settings.metrics_host)
    consumer = bootstrap(settings, stop, metrics=PrometheusMetrics(service="notification_consumer"))
    freeze_startup_heap()
    consumer.run()


if __name__ == "__main__":
    main()
