"""The order service's I/O, one module per store or transport: Redis (reservations.py and
the stock channel), Kafka (publisher.py) and PostgreSQL (sql.py). Each implements a port
of ports.py; bootstrap.py wires them."""
