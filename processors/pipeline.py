"""What the agent does with a batch of records: decide each record in order (asking a
programmatic rule's API when the engine needs an amount), then write the users' states and the
rule budgets' usage and emit the commands and dead letters, all in one go."""

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from processors import metrics
from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog
from processors.deliveries import delivered
from processors.engine import InvariantError, UserState
from processors.external import ExternalPoints
from processors.handling import Decided, NeedsAmounts, Record, handle, record_of
from processors.outbox import Outbox
from processors.tables import Send, TableWriter
from schemas.dead_letters import DeadLetter

__all__ = ["Batch", "EventPipeline", "Outputs", "record_of"]


@dataclass(slots=True)
class Batch:
    """A batch's outcomes in record order, and each user's state after the batch: a user with
    several events in the batch is read once, decided in order and written once."""

    outcomes: list[tuple[bytes | None, Decided | DeadLetter]] = field(default_factory=list)
    states: dict[bytes, UserState] = field(default_factory=dict)
    # The last event of each user in the batch: its partition is the state's changelog's.
    last_events: dict[bytes, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outputs:
    send: Send
    """For the records of the odd event (external amounts, dead letters)."""
    outbox: Outbox
    """For the records of every event: its command, its user's state."""
    ledger_topic: str
    dead_letters_topic: str


class EventPipeline:
    """The amounts a programmatic rule used are written, and in Kafka, before the decision that
    used them goes on, so a redelivery finds the amount the first decision used."""

    def __init__(
        self,
        catalog: ProgrammeCatalog,
        states: TableWriter,
        amounts: TableWriter,
        external: ExternalPoints,
        budgets: BudgetUsage,
        outputs: Outputs,
    ) -> None:
        self._catalog = catalog
        self._budgets = budgets
        self._states = states
        self._amounts = amounts
        self._external = external
        self._outputs = outputs
        self._tally = metrics.BatchTally()

    async def decide(self, events: Sequence[Any]) -> Batch:
        """`events` are faust events, in the order they arrived."""
        batch = Batch()
        states, last_events, outcomes = batch.states, batch.last_events, batch.outcomes
        catalog, budgets = self._catalog, self._budgets
        view = budgets.view
        for event in events:
            record = record_of(event.message)
            key = record.key
            state = self._state_of(key, states)
            # Called, not awaited, for the events that need no external amount (nearly all): a
            # coroutine for every event costs more than its lookups.
            handled = handle(record, state, catalog, budget_view=view)
            if isinstance(handled, NeedsAmounts):
                handled = await self._decide_with_amounts(record, state, event, handled)
            if isinstance(handled, Decided) and key is not None:
                states[key] = handled.decision.state
                last_events[key] = event
                consumed = handled.decision.budget_consumed
                if consumed:
                    budgets.consume(handled.event.programme_id, consumed, event)
            outcomes.append((key, handled))
        return batch

    async def emit(self, batch: Batch) -> None:
        """Writes the batch's states and budget usage and sends its outputs; returns once Kafka
        holds all of them, so the batch's offsets may then be committed. Everything is handed
        to the producer before the first await that yields, so it leaves in one request."""
        states, last_events = self._states, batch.last_events
        outputs = self._outputs
        outbox, ledger_topic = outputs.outbox, outputs.ledger_topic
        stage, add = states.stage, outbox.add
        for user, state in batch.states.items():
            stage(user, state.to_bytes(), last_events[user], outbox)
        count = self._tally.decision
        letters: list[tuple[bytes | None, DeadLetter]] = []
        for key, handled in batch.outcomes:
            if isinstance(handled, Decided):
                count(handled.event.programme_id, handled.decision)
                add(ledger_topic, key, handled.command_json, None)
            else:
                letters.append((key, handled))
        self._tally.publish()
        # The outbox first: nothing staged may outlive a failure of what is sent after it.
        deliveries = await outbox.send()
        deliveries += await self._budgets.write()
        deliveries += [await self._dead_letter(key, letter) for key, letter in letters]
        await delivered(deliveries)

    async def _decide_with_amounts(
        self, record: Record, state: UserState | None, event: Any, needed: NeedsAmounts
    ) -> Decided | DeadLetter:
        fetched = await self._external_amounts(needed, event)
        handled = handle(record, state, self._catalog, fetched, budget_view=self._budgets.view)
        if isinstance(handled, NeedsAmounts):
            raise InvariantError(f"{handled.event.event_id}: amounts given, still asked for")
        return handled

    def _state_of(self, key: bytes | None, decided: dict[bytes, UserState]) -> UserState | None:
        if key is None:
            return None
        if key in decided:
            return decided[key]
        stored = self._states.get(key)
        if stored is None:
            return None
        return UserState.from_bytes(stored)

    async def _dead_letter(self, key: bytes | None, letter: DeadLetter) -> Awaitable[Any]:
        outputs = self._outputs
        metrics.DEAD_LETTERS.labels(letter.reason).inc()
        value = letter.model_dump_json().encode()
        return await outputs.send(outputs.dead_letters_topic, key, value, None)

    async def _external_amounts(self, needed: NeedsAmounts, event: Any) -> dict[str, int]:
        key = needed.event.event_id.encode()
        stored = self._amounts.get(key)
        if stored is not None:
            return {rule: int(points) for rule, points in orjson.loads(stored).items()}
        config = self._catalog.config(needed.event.programme_id)
        if config is None:
            raise InvariantError(f"programme {needed.event.programme_id} vanished mid-event")
        fetched = await self._external.amounts(needed.calls, needed.event, config)
        # In Kafka before the decision that used it: a redelivery then finds it.
        await (await self._amounts.set(key, orjson.dumps(fetched), event))
        return fetched
