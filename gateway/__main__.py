"""Layer 1: token-bucket rate limiting and the waiting room, in front of the order service."""

import logging

import uvicorn

from gateway.settings import GatewaySettings

settings = GatewaySettings()
logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
uvicorn.run(
    "gateway.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    loop="uvloop",
    http="httptools",
    access_log=False,
    log_level="warning",
)
