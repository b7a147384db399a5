"""`loyalty-gateway`: serves the partner API with uvicorn, one process.

One worker per process: nothing a request needs is kept per process (outcome waits LISTEN in
every process, a partner's rate limit is counted in Postgres for all of them, decision 0015), so
the gateway scales out with more instances behind one address. Instances rather than uvicorn
workers, because each instance serves its own /metrics (workers sharing a port would answer
scrapes with one worker's counters at a time) and is what a platform restarts and places."""

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
        timeout_keep_alive=settings.gateway_keep_alive_s,
        # The C event loop and HTTP parser (uvicorn[standard]), named rather than auto-detected.
        loop="uvloop",
        http="httptools",
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
