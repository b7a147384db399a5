"""Previews ("what would this event earn now?", schemas/previews.py): the second agent of the
worker decides a requested event against the user's state as this worker holds it, and answers
on the request's reply topic. Nothing is written: no state, no command, no budget use, no
decision metric; the engine's decision is read and dropped.

previews.v1 is keyed and partitioned as events.v1, and faust's assignor gives one worker the same
partition numbers of every topic with the same partition count (its co-partitioned groups), so
the worker that decides a user's events answers the user's previews. A worker checks that it owns
the events partition of the request's number and otherwise refuses rather than answer from an
empty state (a previews topic created with another partition count, or a rebalance under way).

A programmatic rule's amount is asked of its API once, with a short timeout, as the real decision
would ask it; the answer notes that publishing asks again, and which rule's configured points
stand in if the API did not answer (as they would for the real decision)."""

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from processors import metrics
from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog
from processors.engine import CompiledProgramme, Decision, UserState, decide
from processors.external import ExternalPoints, fallback
from processors.handling import DeadLetterReason, Record, dead_letter
from processors.tables import Send, TableWriter
from schemas import topics
from schemas.previews import PreviewAward, PreviewReply, PreviewRequest

log = logging.getLogger(__name__)


class Previews:
    def __init__(
        self,
        catalog: ProgrammeCatalog,
        states: TableWriter,
        budgets: BudgetUsage,
        external: ExternalPoints,
        send: Send,
        dead_letters_topic: str,
        owns: Callable[[int], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`owns(partition)`: this worker holds the events partition of that number."""
        self._catalog = catalog
        self._states = states
        self._budgets = budgets
        self._external = external
        self._send = send
        self._dead_letters_topic = dead_letters_topic
        self._owns = owns
        self._clock = clock

    async def answer(self, record: Record) -> None:
        """Answers the request the record holds (a dead letter if it holds none); returns once
        the reply is handed to the producer."""
        try:
            request = PreviewRequest.model_validate_json(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, str(exc)[:2000])
            return
        if request.expires_at.timestamp() < self._clock():
            metrics.PREVIEWS.labels("expired").inc()
            return
        reply = await self._reply(request, record)
        metrics.PREVIEWS.labels(reply.outcome).inc()
        value = reply.model_dump_json().encode()
        await self._send(request.reply_topic, request.request_id.encode(), value, None)

    async def _reply(self, request: PreviewRequest, record: Record) -> PreviewReply:
        event = request.event
        if record.key != topics.user_key(event.programme_id, event.user_id):
            return refused(request, "the request's key must be programme_id:user_id")
        if not self._owns(record.partition):
            return refused(
                request, f"this worker does not hold events partition {record.partition}"
            )
        catalog = self._catalog
        programme = (catalog.with_drafts if request.drafts else catalog.get)(event.programme_id)
        if programme is None:
            return refused(request, f"no configuration for {event.programme_id}")
        stored = self._states.get(record.key)
        state = UserState.initial() if stored is None else UserState.from_bytes(stored)
        budget = self._budgets.view(programme)
        decision = decide(event, state, programme, budget_used=budget)
        notes: list[str] = []
        if decision.status == "needs_external_points":
            amounts = await self._amounts(request, decision, notes)
            decision = decide(event, state, programme, amounts, budget_used=budget)
        return decided(request, programme, decision, tuple(notes))

    async def _amounts(
        self, request: PreviewRequest, decision: Decision, notes: list[str]
    ) -> dict[str, int]:
        config = self._catalog.config(request.event.programme_id)
        found: dict[str, int] = {}
        for call in decision.external_calls:
            answered = await self._external.fetch(call, request.event)
            if answered is None:
                found[call.rule_id] = 0 if config is None else fallback(call, config)
                notes.append(
                    f"rule '{call.rule_id}': its API did not answer now; its configured "
                    f"{found[call.rule_id]} points stand in, as for a real decision"
                )
            else:
                found[call.rule_id] = answered
                notes.append(
                    f"rule '{call.rule_id}': its API answered {answered} points now; "
                    "publishing asks it again"
                )
        return found

    async def _dead_letter(self, record: Record, error: str) -> None:
        letter = dead_letter(record, DeadLetterReason.INVALID_PREVIEW, error)
        metrics.DEAD_LETTERS.labels(letter.reason).inc()
        value = letter.model_dump_json().encode()
        await self._send(self._dead_letters_topic, record.key, value, None)


def decided(
    request: PreviewRequest,
    programme: CompiledProgramme,
    decision: Decision,
    notes: tuple[str, ...] = (),
) -> PreviewReply:
    explanation = decision.explanation
    return PreviewReply(
        request_id=request.request_id,
        outcome="decided",
        event_id=request.event.event_id,
        status=decision.status,
        points=decision.points,
        awards=tuple(_award(award) for award in decision.awards),
        reason_code=explanation.reason_code,
        reason=decision.reason,
        programme_version=programme.version,
        drafts=request.drafts,
        explanation=explanation.to_dict(),
        notes=notes,
    )


def refused(request: PreviewRequest, why: str) -> PreviewReply:
    log.warning("preview %s refused: %s", request.request_id, why)
    return PreviewReply(
        request_id=request.request_id,
        outcome="refused",
        refusal=why,
        event_id=request.event.event_id,
        drafts=request.drafts,
    )


def _award(award: Any) -> PreviewAward:
    return PreviewAward(
        rule_id=award.rule_id, rule_version=award.rule_version, kind=award.kind, points=award.points
    )
