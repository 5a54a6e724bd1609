"""The inventory consumer's I/O: PostgreSQL (sql.py) and Redis (redis_stock.py), each behind
a port of ports.py."""
