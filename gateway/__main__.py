"""`loyalty-gateway`: serves the partner API with uvicorn."""

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
