"""Writes the JSON Schemas of the topic contracts into schemas/json/, for producers in other
languages: `python -m schemas.export`. A unit test fails when the files and the models drift."""

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from schemas import topics
from schemas.dead_letters import DeadLetter
from schemas.events import EventV1
from schemas.ledger import LedgerCommand, LifecycleCommand
from schemas.previews import PreviewReply, PreviewRequest
from schemas.programme import ProgrammeConfig

FOLDER = Path(__file__).resolve().parent / "json"
LedgerCommandsRecord = Annotated[
    LedgerCommand | LifecycleCommand,
    Field(description="A user's command, or a whole programme's time-driven lifecycle command."),
]
"""What a `ledger-commands.v1` record holds."""

CONTRACTS: dict[str, type[BaseModel] | Any] = {
    topics.EVENTS: EventV1,
    topics.LEDGER_COMMANDS: LedgerCommandsRecord,
    topics.DEAD_LETTERS: DeadLetter,
    topics.CONFIG: ProgrammeConfig,
    topics.PREVIEWS: PreviewRequest,
    topics.PREVIEW_REPLIES: PreviewReply,
}


def rendered(topic: str) -> str:
    contract = CONTRACTS[topic]
    if isinstance(contract, type) and issubclass(contract, BaseModel):
        schema = contract.model_json_schema(mode="validation")
    else:
        schema = TypeAdapter(contract).json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": topic, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def path_for(topic: str) -> Path:
    return FOLDER / f"{topic}.schema.json"


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for topic in CONTRACTS:
        path_for(topic).write_text(rendered(topic))
        print(f"wrote {path_for(topic)}")


if __name__ == "__main__":
    main()
