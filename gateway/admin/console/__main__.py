"""`loyalty-console`: the business console and the admin API, one uvicorn process."""

import uvicorn

from gateway.admin.console.app import create_app
from gateway.admin.console.settings import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.console_host,
        port=settings.console_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
