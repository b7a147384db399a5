"""Writes the JSON Schemas of the topic contracts into schemas/json/, for producers in other
languages: `python -m schemas.export`. A unit test fails when the files and the models drift."""

import json
from pathlib import Path

from pydantic import BaseModel

from schemas import topics
from schemas.dead_letters import DeadLetter
from schemas.events import EventV1
from schemas.ledger import LedgerCommand
from schemas.previews import PreviewReply, PreviewRequest
from schemas.programme import ProgrammeConfig

FOLDER = Path(__file__).resolve().parent / "json"
CONTRACTS: dict[str, type[BaseModel]] = {
    topics.EVENTS: EventV1,
    topics.LEDGER_COMMANDS: LedgerCommand,
    topics.DEAD_LETTERS: DeadLetter,
    topics.CONFIG: ProgrammeConfig,
    topics.PREVIEWS: PreviewRequest,
    topics.PREVIEW_REPLIES: PreviewReply,
}


def rendered(topic: str) -> str:
    schema = CONTRACTS[topic].model_json_schema(mode="validation")
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
