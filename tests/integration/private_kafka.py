"""A Kafka broker of one test's own, in a temporary directory on free ports, which the test may
SIGKILL and start again (a broker restart): the shared broker of `./dev infra` is never touched.
Only the process this helper started is ever signalled."""

import subprocess
import time
from pathlib import Path

from deploy.local import kafka
from deploy.local.ports import free_port
from deploy.local.settings import LocalSettings

READY_S = 180.0


class PrivateKafka:
    def __init__(self, home: Path, partitions: int = 3) -> None:
        self.settings = LocalSettings(
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
            kafka_heap_mb=384,
            kafka_partitions=partitions,
        )
        self.home = home
        self.log = home / "kafka.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap_servers

    def start(self) -> float:
        """Start the broker (formatting its directory the first time); returns the seconds until
        it answered."""
        data, config = self.home / "data", self.home / "server.properties"
        self.home.mkdir(parents=True, exist_ok=True)
        config.write_text(kafka.server_properties(self.settings, data))
        kafka.fetch_jars()
        kafka.format_storage(data, config)
        command = [*kafka.java(self.settings.kafka_heap_mb, self.home), "kafka.Kafka", str(config)]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        started = time.monotonic()
        while not kafka.reachable(self.settings):
            if self._process.poll() is not None:
                raise RuntimeError(f"the private broker exited; see {self.log}")
            if time.monotonic() - started > READY_S:
                raise TimeoutError(f"the private broker did not answer within {READY_S} s")
            time.sleep(0.5)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the broker this helper started (a crash: nothing flushed, no clean shutdown)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=30)
        self._process = None
