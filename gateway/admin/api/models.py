"""What the admin API answers (requests are the service layer's own models)."""

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field, JsonValue

from gateway.admin.service.configuration import Committed


class ChangeResult(BaseModel):
    """A change of a programme's configuration: the stored version after it."""

    programme_id: str
    version: int = Field(description="The programme's version now.")
    changed: bool = Field(
        description="False when the change left the snapshot as it was (nothing stored)."
    )

    @classmethod
    def of(cls, committed: Committed) -> "ChangeResult":
        config = committed.config
        return cls(
            programme_id=config.programme_id, version=config.version, changed=committed.changed
        )


class DifferenceOut(BaseModel):
    path: str = Field(description="`partners[mgpass].multiplier`; id-keyed lists by their ids.")
    before: JsonValue
    after: JsonValue


class VersionOut(BaseModel):
    version: int
    source: str = Field(description="`file`, `console`, `api` or `migration`.")
    source_file: str | None
    actor: str
    stored_at: datetime


ExpectedVersion = Annotated[
    int | None,
    Query(description="Refuse (409) unless this is the programme's stored version: no change "
          "made meanwhile is overwritten."),
]  # fmt: skip
