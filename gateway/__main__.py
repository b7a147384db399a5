"""`loyalty-gateway`: serves the partner API with uvicorn, one process.

One worker per process on purpose: outcome waits (LISTEN) work with any number, but the partner
rate limits are counted per process, so N workers would allow N times a partner's rate. Scale
out with more instances (same caveat, see gateway.rate_limits) where the cores are spare."""

import uvicorn

from gateway.app import create_app
from gateway.runtime import GC_THRESHOLDS
from gateway.settings import GatewaySettings
from runtime.collector import tune_garbage_collector


def main() -> None:
    settings = GatewaySettings()
    app = create_app(settings)
    tune_garbage_collector(GC_THRESHOLDS)
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        # The C event loop and HTTP parser (uvicorn[standard]), named rather than auto-detected.
        loop="uvloop",
        http="httptools",
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
