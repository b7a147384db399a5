"""A single-node KRaft Kafka (combined broker and controller) from the jars Maven fetches."""

import asyncio
import base64
import shutil
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from deploy import topics as deploy_topics
from deploy.local import processes
from deploy.local.paths import CACHE, DOWNLOADS, LOCAL, REPO
from deploy.local.settings import LocalSettings

NAME = "kafka"
POM = REPO / "deploy" / "kafka" / "pom.xml"
HOME = LOCAL / "kafka"
LIBS = DOWNLOADS / "kafka" / "libs"  # shared by every state directory: a download
DATA = HOME / "data"
CONFIG = HOME / "server.properties"
LOG4J2 = REPO / "deploy" / "kafka" / "log4j2.properties"


def pinned_version() -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ElementTree.parse(POM).find("m:properties/m:kafka.version", namespace)
    if version is None or not version.text:
        raise RuntimeError(f"{POM} names no kafka.version")
    return version.text


def fetch_jars() -> None:
    """Copy the broker's runtime jars from Maven Central (cached in .cache/m2) once per version."""
    marker = LIBS / f".kafka-{pinned_version()}"
    if marker.exists():
        return
    shutil.rmtree(LIBS, ignore_errors=True)
    subprocess.run(
        ["mvn", "-B", "-q", "-f", str(POM), f"-Dmaven.repo.local={CACHE / 'm2'}",
         "dependency:copy-dependencies", f"-DoutputDirectory={LIBS}", "-DincludeScope=runtime"],
        check=True,
    )  # fmt: skip
    marker.touch()


def write_config(settings: LocalSettings) -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(server_properties(settings))


def server_properties(settings: LocalSettings, data: Path = DATA) -> str:
    """The broker's configuration; `data`: its log directory (a test's own broker has one of
    its own)."""
    broker, controller = settings.kafka_port, settings.kafka_controller_port
    # Replication factor 1 for the internal topics: with the default of 3 a single node never
    # creates them, and idempotent producers, transactions and consumer groups hang.
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions={settings.kafka_partitions}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
"""


def format_storage(data: Path = DATA, config: Path = CONFIG) -> None:
    """Format the log directory once; a formatted directory keeps its cluster id."""
    if (data / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    subprocess.run(
        [*java(), "kafka.tools.StorageTool", *format_arguments(cluster_id, config)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def format_arguments(cluster_id: str, config: Path = CONFIG) -> list[str]:
    # One id in 64 starts with "-", which the tool's parser takes for an option when it is a
    # separate argument ("expected one argument"): joined with "=", it is always the value.
    return ["format", f"--cluster-id={cluster_id}", "-c", str(config)]


def java(heap_mb: int = 256, logs: Path = LOCAL / "log") -> list[str]:
    """The JVM's command line up to its main class; `logs`: where the broker's log4j logs go."""
    return [
        "java", f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={LOG4J2}", f"-Dkafka.logs.dir={logs}",
        "-cp", f"{LIBS}/*",
    ]  # fmt: skip


def start(settings: LocalSettings) -> bool:
    """Start the broker unless it runs; True if this call started it."""
    if processes.running_pid(NAME) is not None:
        return False
    fetch_jars()
    write_config(settings)
    format_storage()
    processes.start(NAME, [*java(settings.kafka_heap_mb), "kafka.Kafka", str(CONFIG)])
    return True


def stop() -> bool:
    return processes.stop(NAME, timeout_s=60.0)


def wait_ready(settings: LocalSettings) -> float:
    """Block until the broker answers metadata requests; returns the seconds waited."""
    started = time.monotonic()
    deadline = started + settings.kafka_ready_timeout_s
    while time.monotonic() < deadline:
        if processes.running_pid(NAME) is None and not reachable(settings):
            raise RuntimeError(f"Kafka exited while starting; see {LOCAL / 'log' / 'kafka.log'}")
        if reachable(settings):
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"Kafka not ready after {settings.kafka_ready_timeout_s}s")


def reachable(settings: LocalSettings) -> bool:
    """The broker on `settings.kafka_port` answers a metadata request."""
    try:
        # A plain connect first, so a broker that is still booting costs no client error logs.
        socket.create_connection(("127.0.0.1", settings.kafka_port), timeout=1.0).close()
        asyncio.run(_describe(settings.kafka_bootstrap_servers))
    except (KafkaError, OSError):
        return False
    return True


async def _describe(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
    finally:
        await admin.close()


def create_topics(settings: LocalSettings) -> None:
    asyncio.run(deploy_topics.ensure(settings.kafka_bootstrap_servers, settings.kafka_partitions))
