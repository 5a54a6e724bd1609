import uvicorn

from order_service.settings import OrderServiceSettings

settings = OrderServiceSettings()
uvicorn.run(
    "order_service.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    log_level="warning",
)
