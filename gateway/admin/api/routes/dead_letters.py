"""Dead letters, as the console's feed stores them: list, read, replay, discard."""

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import dead_letters
from gateway.admin.service.dead_letter_rows import Shown

router = APIRouter(tags=["dead letters"])


class PositionOut(BaseModel):
    topic: str
    partition: int | None
    offset: int | None
    at: datetime | None = Field(default=None, description="The record's Kafka timestamp.")


class BytesOut(BaseModel):
    text: str = Field(description="As text (JSON indented) when the bytes are text, else base64.")
    encoding: str = Field(description="`json`, `text`, `base64`, or `none` (no bytes).")
    base64: str | None = Field(description="The exact bytes.")

    @classmethod
    def of(cls, shown: Shown, raw: bytes | None) -> "BytesOut":
        exact = None if raw is None else base64.b64encode(raw).decode()
        return cls(text=shown.text, encoding=shown.encoding, base64=exact)


class LetterOut(BaseModel):
    dead_letter_id: int
    reason: str
    error: str
    producer: str = Field(description="The service that dead-lettered it.")
    programme_id: str | None = Field(description="The programme the original names, if any.")
    source: PositionOut = Field(description="Where the original was consumed.")
    letter: PositionOut = Field(description="Where the dead letter is on the dead-letter topic.")
    key: BytesOut
    value: BytesOut
    status: dead_letters.Status
    handled_at: datetime | None
    handled_by: str | None
    replayed_to: PositionOut | None = Field(description="Where its replay was published.")
    replay_of: int | None = Field(description="The letter whose replay failed again as this one.")
    replayed_as: int | None = Field(description="The letter its replay became, if it failed.")

    @classmethod
    def of(cls, d: dead_letters.Letter) -> "LetterOut":
        replayed = None
        if d.replayed_offset is not None:
            replayed = PositionOut(
                topic=d.source_topic, partition=d.replayed_partition, offset=d.replayed_offset
            )
        return cls(
            dead_letter_id=d.dead_letter_id, reason=d.reason, error=d.error, producer=d.producer,
            programme_id=d.programme_id,
            source=PositionOut(topic=d.source_topic, partition=d.source_partition,
                               offset=d.source_offset, at=d.source_at),
            letter=PositionOut(topic=d.letter_topic, partition=d.letter_partition,
                               offset=d.letter_offset, at=d.letter_at),
            key=BytesOut.of(d.key, d.original_key), value=BytesOut.of(d.value, d.original_value),
            status=d.status, handled_at=d.handled_at, handled_by=d.handled_by,
            replayed_to=replayed, replay_of=d.replay_of, replayed_as=d.replayed_as,
        )  # fmt: skip


class LettersPage(BaseModel):
    dead_letters: list[LetterOut] = Field(description="Newest first.")
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null at the end."
    )


@router.get("/dead-letters", response_model=LettersPage)
async def list_dead_letters(
    request: Request,
    actor: ActorDep,
    status: dead_letters.Status | None = None,
    programme_id: str | None = None,
    reason: str | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=dead_letters.PAGE_MAX)] = 50,
) -> LettersPage:
    """The letters of the programmes you see (letters naming none: with every programme)."""
    filters = dead_letters.Filters(status, programme_id, reason, before_id, limit)
    found = await dead_letters.listed(console_of(request).backend.pool, actor, filters)
    next_before = found[-1].dead_letter_id if len(found) == limit else None
    return LettersPage(dead_letters=[LetterOut.of(d) for d in found], next_before_id=next_before)


@router.get("/dead-letters/{dead_letter_id}", response_model=LetterOut)
async def get_dead_letter(request: Request, actor: ActorDep, dead_letter_id: int) -> LetterOut:
    found = await dead_letters.get(console_of(request).backend.pool, actor, dead_letter_id)
    return LetterOut.of(found)


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=LetterOut)
async def replay_dead_letter(request: Request, actor: ActorDep, dead_letter_id: int) -> LetterOut:
    """Publishes the original key and value to the source topic again (a new letter appears
    if it fails again, naming this one as `replay_of`). 409 unless the letter is new."""
    done = await dead_letters.replay(console_of(request).backend, actor, dead_letter_id)
    return LetterOut.of(done)


@router.post("/dead-letters/{dead_letter_id}/discard", response_model=LetterOut)
async def discard_dead_letter(request: Request, actor: ActorDep, dead_letter_id: int) -> LetterOut:
    """Marks the letter discarded (kept, listed); 409 unless it is new."""
    done = await dead_letters.discard(console_of(request).backend, actor, dead_letter_id)
    return LetterOut.of(done)
