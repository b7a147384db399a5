"""`previews.v1` and `preview-replies.v1`: "what would this event earn now?", asked of the
processors worker that holds the user's state, and its answer. Nothing of a preview is stored or
counted: no state, no command, no budget, no metric of decisions.

A request is keyed `programme_id:user_id` like the events, on a topic with as many partitions as
events.v1, so faust gives a worker the same partitions of both and the worker that decides the
user's events reads the user's state for the preview. The reply goes to `reply_topic`, keyed by
the request id; the requester waits for it until `expires_at` and a worker skips a request it
reads after that.
"""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from schemas.events import EventV1, Identifier

TopicName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


class PreviewRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    request_id: Identifier = Field(description="Unique per request; the reply's key.")
    event: EventV1 = Field(
        description="The event as it would be published; its `occurred_at` is the time the "
        "rules see (caps' days, validity windows)."
    )
    drafts: bool = Field(
        default=False,
        description="Decide with the programme's draft rules as if they were active (the "
        "console's 'Try an event'; never a partner's preview).",
    )
    reply_topic: TopicName = Field(description="Where the worker answers.")
    expires_at: AwareDatetime = Field(
        description="When the requester stops waiting: a worker that reads the request later "
        "skips it."
    )


class PreviewAward(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: Identifier
    rule_version: int
    kind: Literal["earn", "redeem"]
    points: int = Field(gt=0)


PreviewOutcome = Literal["decided", "refused"]


class PreviewReply(BaseModel):
    """`decided`: what the engine would decide now (`points`, `status`, the explanation with
    every rule's trace); `refused`: the worker could not decide it (`refusal` says why: the
    programme is unknown to it, or the user's partition is not its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    request_id: Identifier
    outcome: PreviewOutcome
    refusal: str | None = None
    event_id: Identifier | None = None
    status: str | None = Field(
        default=None,
        description="The decision's status: awarded, no_points, invalid_event, duplicate (the "
        "event id was decided already: its original outcome), needs_external_points (a "
        "programmatic rule's amount could not be had).",
    )
    points: int = Field(default=0, description="Net points: earned minus redeemed.")
    awards: tuple[PreviewAward, ...] = ()
    reason_code: str | None = None
    reason: str | None = None
    programme_version: int | None = None
    drafts: bool = False
    explanation: JsonValue = None
    notes: tuple[str, ...] = Field(
        default=(),
        description="What the preview could not know as the real decision will (e.g. a "
        "programmatic rule's amount, asked of its API now).",
    )
