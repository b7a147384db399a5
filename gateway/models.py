"""The partner API's request and response bodies (mgPass partner guide)."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from schemas.events import Identifier

MAX_METADATA_KEYS = 64


class PartnerEventRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"user_id": "usr_abc123", "event_type": "article_read"},
                {
                    "user_id": "usr_abc123",
                    "event_type": "purchase",
                    "metadata": {
                        "reference_id": "order_789",
                        "amount": 150.00,
                        "currency": "GHS",
                        "item_count": 3,
                    },
                },
            ]
        },
    )

    user_id: Identifier
    event_type: Identifier
    metadata: dict[str, JsonValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the user acted; the gateway's clock if absent."
    )

    def reference_id(self) -> str | None:
        reference = self.metadata.get("reference_id")
        return None if reference is None else str(reference)


class EventAccepted(BaseModel):
    accepted: Literal[True] = True
    event_id: str
    status: Literal["pending", "processed"] = "pending"
    points_awarded: int | None = None


class Balance(BaseModel):
    user_id: str
    balance: int
