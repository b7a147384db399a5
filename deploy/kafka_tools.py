"""Kafka tooling shared by the benchmarks and the tests: topics of their own (the bounded bulk
producer they use is `runtime.kafka.produce`)."""

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.topics import wanted
from schemas import topics

TOPIC_READY_POLLS_MAX = 300  # 0.1 s apart


async def create_topics(
    bootstrap: str, partitions_by_topic: dict[str, int], configs: dict[str, str] | None = None
) -> None:
    """Create the topics (with the topic `configs`, e.g. compaction) and return once the
    cluster describes every partition of each, so a reader that assigns partitions right away
    finds them all."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, partitions, 1, topic_configs=configs or {})
                for name, partitions in partitions_by_topic.items()
            ]
        )
        for _ in range(TOPIC_READY_POLLS_MAX):
            if await _described(admin, partitions_by_topic):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"topics not described after {TOPIC_READY_POLLS_MAX} polls")
    finally:
        await admin.close()


async def run_topics(bootstrap: str, partitions: int, prefix: str, run: str) -> dict[str, str]:
    """The topics of `deploy.topics.wanted` under names of one run's own (`{prefix}-events-{run}`,
    ...), created with the same partitions and settings, as the services' settings: its workers
    read no earlier run's records, and no other run's programme snapshots."""
    names = {
        topics.EVENTS: f"{prefix}-events-{run}",
        topics.LEDGER_COMMANDS: f"{prefix}-commands-{run}",
        topics.DEAD_LETTERS: f"{prefix}-dead-{run}",
        topics.CONFIG: f"{prefix}-config-{run}",
        topics.PREVIEWS: f"{prefix}-previews-{run}",
        topics.PREVIEW_REPLIES: f"{prefix}-replies-{run}",
    }
    by_configs: dict[tuple[tuple[str, str], ...], dict[str, int]] = {}
    for topic in wanted(partitions):
        configs = tuple(sorted(topic.topic_configs.items()))
        by_configs.setdefault(configs, {})[names[topic.name]] = topic.num_partitions
    for configs, partitions_by_topic in by_configs.items():
        await create_topics(bootstrap, partitions_by_topic, dict(configs))
    return {
        "LOYALTY_EVENTS_TOPIC": names[topics.EVENTS],
        "LOYALTY_LEDGER_COMMANDS_TOPIC": names[topics.LEDGER_COMMANDS],
        "LOYALTY_COMMANDS_TOPIC": names[topics.LEDGER_COMMANDS],
        "LOYALTY_DEAD_LETTERS_TOPIC": names[topics.DEAD_LETTERS],
        "LOYALTY_CONFIG_TOPIC": names[topics.CONFIG],
        "LOYALTY_PREVIEWS_TOPIC": names[topics.PREVIEWS],
        "LOYALTY_PREVIEW_REPLIES_TOPIC": names[topics.PREVIEW_REPLIES],
    }


async def delete_topics_of(bootstrap: str, run: str) -> list[str]:
    """Deletes every topic whose name holds `run`, a run's own id: the topics a benchmark or a
    test made for itself, with the changelog and assignor topics faust made for an app named
    after it. Returns their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if run in name]
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def _described(admin: AIOKafkaAdminClient, partitions_by_topic: dict[str, int]) -> bool:
    descriptions = await admin.describe_topics(list(partitions_by_topic))
    found = {d["topic"]: len(d["partitions"]) for d in descriptions}
    return all(found.get(name) == count for name, count in partitions_by_topic.items())
