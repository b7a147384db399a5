"""The answer to a published event, shared by every API that publishes events (the mgPass
partner API, Kwegg's occurrences, the API-triggered rules)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas.ledger import RejectionReason
from schemas.reasons import ReasonCode


class EventAnswer(BaseModel):
    """`processed` carries the points booked; `pending` means the outcome was not known within
    the gateway's deadline: `GET /api/partner/events/{event_id}` answers it later."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"accepted": True, "points_awarded": 150, "event_id": "evt_xyz789"},
                {"accepted": True, "points_awarded": 0, "event_id": "evt_xyz789"},
            ]
        }
    )

    accepted: Literal[True] = True
    event_id: str
    status: Literal["processed", "rejected", "pending"] = "processed"
    points_awarded: int | None = None
    reason_code: ReasonCode | RejectionReason | None = Field(
        default=None,
        description=(
            "Why the event earned nothing or less than its rules' amount (a cap, a frequency "
            "limit, a budget, no matching rule, a missing parameter, ...), or why the ledger "
            "refused it; null for a full award and while pending."
        ),
    )
    reason: str | None = Field(
        default=None,
        description="The same in words, e.g. \"rule 'read': daily cap 20: cut from 5 to 0\".",
    )


class EventOutcome(EventAnswer):
    balance_after: int | None = None
    explanation: JsonValue = None
