"""A table write sets the store's value and sends the changelog record, key and value as they
are, to the partition of the event it is written under; the delivery is handed back."""

import asyncio
from types import SimpleNamespace
from typing import Any

from processors.tables import TableWriter


class Table(dict[bytes, bytes]):
    """What TableWriter uses of a faust table: get, its store and its changelog topic."""

    def __init__(self) -> None:
        super().__init__()
        self.data = self
        self.changelog_topic = SimpleNamespace(get_topic_name=lambda: "app-user-state-changelog")


def test_a_write_sets_the_value_and_sends_it_to_the_events_partition() -> None:
    sent: list[tuple[str, bytes | None, bytes, int | None]] = []

    async def send(topic: str, key: bytes | None, value: bytes, partition: int | None) -> Any:
        sent.append((topic, key, value, partition))
        return "delivery"

    async def write() -> Any:
        writer = TableWriter(Table(), send)  # type: ignore[arg-type]  # a faust table's part
        event = SimpleNamespace(message=SimpleNamespace(partition=3))
        delivery = await writer.set(b"p:u", b"state", event)  # type: ignore[arg-type]
        return writer, delivery

    writer, delivery = asyncio.run(write())
    assert delivery == "delivery"
    assert writer.get(b"p:u") == b"state"
    assert sent == [("app-user-state-changelog", b"p:u", b"state", 3)]
