"""Layer 2: the atomic Redis pre-deduction, and an order token only after Kafka's ack."""

import logging

import uvicorn

from order_service.settings import OrderServiceSettings

settings = OrderServiceSettings()  # fails here, before binding a port, without a token
logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
logging.getLogger("order_service").setLevel(logging.INFO)
uvicorn.run(
    "order_service.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    loop="uvloop",
    http="httptools",
    access_log=False,
    log_level="warning",
)
