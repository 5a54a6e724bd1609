"""The background threads of the consumer process, beside the poll loop: the outbox relay
(relay.py) and the unpaid-order expiry (expiry.py), each run by a `PeriodicWorker`."""
