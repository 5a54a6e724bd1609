"""The gateway's I/O: the pooled HTTP client to the order service and the optional Redis
bucket shared by every replica. Each sits behind a Protocol in gateway/ports.py."""
