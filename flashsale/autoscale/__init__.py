"""An autoscaling pool of consumer worker processes, for any consumer: a supervisor reads
the group's lag, a pure `ScalingPolicy` says how many workers to run, and the workers are
plain `python -m <consumer>` processes started and stopped (SIGTERM) to match.

`bootstrap_pool(PoolSettings(), PoolTarget(...))` wires one; `inventory_consumer.pool` is
the inventory consumer's entry point. In Kubernetes, KEDA does this job (infra/k8s/)."""
