"""`loyalty-processors`: runs the faust worker, with Prometheus metrics on their own port."""

import asyncio
import logging

import faust
from faust.worker import Worker
from prometheus_client import start_http_server

from processors.app import create_app
from processors.catalog import ProgrammeCatalog
from processors.runtime import GC_THRESHOLDS
from processors.settings import ProcessorSettings
from runtime import native
from runtime.collector import tune_garbage_collector
from runtime.config_feed import follow


def main() -> None:
    settings = ProcessorSettings()
    logging.basicConfig(level=settings.log_level.upper())
    native.warn_if_not_compiled(logging.getLogger(__name__))
    start_http_server(settings.metrics_port)
    catalog = ProgrammeCatalog()
    caught_up = follow(
        catalog, settings.kafka_bootstrap_servers, settings.config_topic, until_caught_up=True
    )
    asyncio.run(asyncio.wait_for(caught_up, settings.config_ready_timeout_s))
    run_worker(create_app(settings, catalog), settings)


def run_worker(app: faust.App, settings: ProcessorSettings) -> None:
    """Runs `app` in a faust worker until it is stopped (also `bench.faust_floor`'s)."""
    tune_garbage_collector(GC_THRESHOLDS)
    worker = Worker(app, loglevel=settings.log_level, logfile=None)
    # faust's terminal spinner hooks a DEBUG-level handler onto the root logger at WARN and
    # above, which makes every debug call build a log record: a tenth of the worker's time.
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
