"""The dashboard's I/O, one module per store: the services' /metrics over HTTP, Kafka's
offsets, PostgreSQL's orders (and `flashsale check`), Redis' stock and worker count."""
