"""What the agent does with one record, minus the table write: decide it (asking a programmatic
rule's API when the engine needs an amount) and emit its command or dead letter."""

from typing import Any

import orjson

from processors import metrics
from processors.catalog import ProgrammeCatalog
from processors.engine import InvariantError
from processors.external import ExternalPoints
from processors.handling import Decided, NeedsAmounts, Record, command_bytes, handle
from schemas.dead_letters import DeadLetter


class EventPipeline:
    """`states` and `amounts` are faust tables (bytes to bytes); `ledger` and `dead_letters` are
    faust topics. The agent owns the user-state write; the amounts are written here, before the
    command leaves, so a redelivery finds the amount the first decision used."""

    def __init__(
        self,
        catalog: ProgrammeCatalog,
        states: Any,
        amounts: Any,
        external: ExternalPoints,
        ledger: Any,
        dead_letters: Any,
    ) -> None:
        self._catalog = catalog
        self._states = states
        self._amounts = amounts
        self._external = external
        self._ledger = ledger
        self._dead_letters = dead_letters

    async def decide(self, message: Any) -> Decided | DeadLetter:
        record = _record(message)
        handled = handle(record, self._states.get(record.key), self._catalog)
        if isinstance(handled, NeedsAmounts):
            fetched = await self._external_amounts(handled)
            handled = handle(record, self._states.get(record.key), self._catalog, fetched)
        if isinstance(handled, NeedsAmounts):
            raise InvariantError(f"{handled.event.event_id}: amounts given, still asked for")
        return handled

    async def emit(self, handled: Decided | DeadLetter, key: bytes | None) -> None:
        if isinstance(handled, DeadLetter):
            metrics.DEAD_LETTERS.labels(handled.reason).inc()
            await self._dead_letters.send(key=key, value=handled.model_dump_json().encode())
            return
        _count(handled)
        await self._ledger.send(key=key, value=command_bytes(handled.command))

    async def _external_amounts(self, needed: NeedsAmounts) -> dict[str, int]:
        key = needed.event.event_id.encode()
        if key in self._amounts:
            return {rule: int(points) for rule, points in orjson.loads(self._amounts[key]).items()}
        config = self._catalog.config(needed.event.programme_id)
        if config is None:
            raise InvariantError(f"programme {needed.event.programme_id} vanished mid-event")
        fetched = await self._external.amounts(needed.calls, needed.event, config)
        self._amounts[key] = orjson.dumps(fetched)
        return fetched


def _record(message: Any) -> Record:
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_ms=None if message.timestamp is None else int(message.timestamp * 1000),
    )


def _count(decided: Decided) -> None:
    programme = decided.event.programme_id
    status = decided.decision.status
    metrics.EVENTS.labels(programme, status).inc()
    for reason in metrics.rejection_reasons(status, decided.command.explanation):
        metrics.REJECTIONS.labels(programme, reason).inc()
    for award in decided.decision.awards:
        if award.kind == "earn":
            metrics.POINTS.labels(programme, award.rule_id).inc(award.points)
