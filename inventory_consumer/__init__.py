"""Layer 4, the inventory consumer: reads the orders topic in batches, writes each batch in
one idempotent PostgreSQL transaction and only then stores its offsets; beside it, worker
threads relay the outbox to Kafka and Redis and cancel unpaid orders."""
