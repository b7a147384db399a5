"""A worker's answer to a preview request, without Kafka: decided from the table's state and
written nowhere, refused when the worker does not hold the user's partition, skipped once the
requester stopped waiting, a dead letter when unreadable."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog, drafts_active
from processors.engine import UserState, compile_programme, decide
from processors.external import ExternalPoints
from processors.handling import Record
from processors.previews import Previews
from schemas import topics
from schemas.events import EventV1
from schemas.previews import PreviewReply, PreviewRequest
from schemas.programme import ProgrammeConfig
from tests.integration.processors.fixtures import capped_programme

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
KEY = b"p:ann"


class Sent(list[tuple[str, bytes | None, bytes]]):
    async def __call__(self, topic: str, key: bytes | None, value: bytes, _: int | None) -> Any:
        self.append((topic, key, value))
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered

    def replies(self) -> list[PreviewReply]:
        return [PreviewReply.model_validate_json(v) for t, _, v in self if t == "replies"]


def with_draft() -> ProgrammeConfig:
    config = capped_programme("p")
    draft = {"rule_id": "bonus", "version": 1, "event_type": "visit", "status": "draft",
             "priority": -1, "points": 50}  # fmt: skip
    rules = [rule.model_dump() for rule in config.rules] + [draft]
    return ProgrammeConfig.model_validate(config.model_dump() | {"rules": rules})


def visit(event_id: str = "evt_1") -> EventV1:
    return EventV1(
        event_id=event_id, programme_id="p", user_id="ann", event_type="visit", occurred_at=NOW
    )


def request(*, drafts: bool = False, expires_in_s: float = 2.0) -> PreviewRequest:
    return PreviewRequest(
        request_id="prv_1",
        event=visit(),
        drafts=drafts,
        reply_topic="replies",
        expires_at=NOW + timedelta(seconds=expires_in_s),
    )


def record(value: bytes, key: bytes = KEY, partition: int = 2) -> Record:
    return Record(topic=topics.PREVIEWS, partition=partition, offset=5, key=key, value=value)


def answered(value: bytes, states: dict[bytes, bytes], *, owned: int = 2, key: bytes = KEY) -> Sent:
    catalog = ProgrammeCatalog()
    catalog.apply(orjson.dumps(with_draft().model_dump(mode="json")))
    sent = Sent()
    previews = Previews(
        catalog,
        states,  # type: ignore[arg-type]  # a TableWriter's read side
        BudgetUsage({}, partitions=4),  # type: ignore[arg-type]
        ExternalPoints(1.0, 1, 0.0),
        sent,
        "dead",
        lambda partition: partition == owned,
        clock=NOW.timestamp,
    )
    asyncio.run(previews.answer(record(value, key)))
    return sent


def state_after_visits(count: int) -> dict[bytes, bytes]:
    compiled = compile_programme(with_draft())
    state = UserState.initial()
    for number in range(count):
        state = decide(visit(f"evt_old_{number}"), state, compiled).state
    return {KEY: state.to_bytes()}


def test_a_preview_is_decided_from_the_users_state_and_writes_nothing() -> None:
    states = state_after_visits(2)
    before = dict(states)
    sent = answered(request().model_dump_json().encode(), states)
    (reply,) = sent.replies()
    assert (reply.outcome, reply.points, reply.reason_code) == ("decided", 10, None)
    assert [(t, k) for t, k, _ in sent] == [("replies", b"prv_1")]
    assert states == before
    capped = answered(request().model_dump_json().encode(), state_after_visits(3)).replies()
    assert (capped[0].points, capped[0].reason_code) == (0, "daily_cap")


def test_the_draft_rules_decide_only_when_asked() -> None:
    live = answered(request().model_dump_json().encode(), {}).replies()[0]
    drafted = answered(request(drafts=True).model_dump_json().encode(), {}).replies()[0]
    assert (live.points, drafted.points) == (10, 50)
    assert [a.rule_id for a in drafted.awards] == ["bonus"]
    assert drafted.drafts


@pytest.mark.parametrize(
    ("owned", "key", "why"),
    [(1, KEY, "does not hold events partition 2"), (2, b"p:bob", "programme_id:user_id")],
)
def test_a_preview_of_a_partition_or_key_not_its_own_is_refused(
    owned: int, key: bytes, why: str
) -> None:
    sent = answered(request().model_dump_json().encode(), {}, owned=owned, key=key)
    (reply,) = sent.replies()
    assert reply.outcome == "refused"
    assert why in str(reply.refusal)


def test_an_expired_request_is_skipped_and_an_unreadable_one_is_a_dead_letter() -> None:
    assert answered(request(expires_in_s=-1).model_dump_json().encode(), {}) == []
    (letter,) = answered(b'{"request_id": 1}', {})
    assert letter[0] == "dead"
    assert orjson.loads(letter[2])["reason"] == "invalid_preview"


def test_drafts_active_is_a_valid_programme_with_every_draft_active() -> None:
    config = drafts_active(with_draft())
    assert {rule.status for rule in config.rules} == {"active"}
    ProgrammeConfig.model_validate(config.model_dump())
    catalog = ProgrammeCatalog()
    catalog.apply(orjson.dumps(with_draft().model_dump(mode="json")))
    compiled = catalog.with_drafts("p")
    assert compiled is not None
    assert catalog.with_drafts("p") is compiled  # compiled once per version
    assert "bonus" not in [r.rule_id for r in catalog.get("p").ordinary_rules["visit"]]  # type: ignore[union-attr]
