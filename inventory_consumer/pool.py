"""Entry point of the autoscaling pool: `python -m inventory_consumer.pool`. Runs until
SIGTERM/SIGINT, then stops its workers the graceful way and exits.

A supervisor process starts FLASHSALE_POOL_MIN_WORKERS workers (each a plain
`python -m inventory_consumer`, with this process's environment) and scales them on the
inventory group's lag (see flashsale/autoscale/). It serves /metrics on
FLASHSALE_POOL_METRICS_PORT: the lag, the workers, the scale events, and every worker's
metrics summed; the workers get no port of their own. In Kubernetes, KEDA is the
supervisor and each replica runs `python -m inventory_consumer` (infra/k8s/).
"""

from __future__ import annotations

import sys

from flashsale.autoscale.bootstrap import PoolTarget, bootstrap_pool
from flashsale.autoscale.settings import PoolSettings
from flashsale.process import configure_logging, stop_on_signals
from inventory_consumer.settings import InventoryConsumerSettings


def main() -> None:
    settings = PoolSettings()  # both fail here, before a worker starts
    consumer = InventoryConsumerSettings()
    configure_logging("inventory_consumer")
    target = PoolTarget(
        argv=(sys.executable, "-m", "inventory_consumer"),
        kafka_bootstrap=consumer.kafka_bootstrap,
        group_id=consumer.inventory_group_id,
        topic=consumer.orders_topic,
        redis_url=consumer.redis_url,
        drop_env=("FLASHSALE_INVENTORY_METRICS_PORT",),
    )
    bootstrap_pool(settings, target, stop_on_signals()).run()


if __name__ == "__main__":
    main()
