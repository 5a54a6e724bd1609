import uvicorn

from gateway.settings import GatewaySettings

settings = GatewaySettings()
uvicorn.run(
    "gateway.app:create_app",
    factory=True,
    host=settings.host,
    port=settings.port,
    log_level="warning",
)
