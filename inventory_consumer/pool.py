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

import os
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
        kafka=consumer,
        group_id=consumer.inventory_group_id,
        topic=consumer.orders_topic,
        redis_url=consumer.redis_url,
        drop_env=("FLASHSALE_INVENTORY_METRICS_PORT",),
        env=worker_env(consumer.max_orders_per_second, settings.max_workers),
    )
    bootstrap_pool(settings, target, stop_on_signals()).run()


def worker_env(write_cap: float, max_workers: int) -> dict[str, str]:
    """The workers' environment. FLASHSALE_MAX_ORDERS_PER_SECOND is what the database
    takes, for the whole pool: each worker gets its share of it, so scaling out drains
    the lag faster up to the cap and never past it (0: no cap)."""
    env = dict(os.environ)
    if write_cap > 0:
        env["FLASHSALE_MAX_ORDERS_PER_SECOND"] = str(write_cap / max_workers)
    return env


if __name__ == "__main__":
    main()
