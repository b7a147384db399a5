"""A fetched batch cut where its lifecycle commands are: each one runs on its own (in chunks,
`ledger.lifecycle`), between the users' commands before and after it.

Records come grouped by partition, each partition's in offset order, so cutting the batch into
consecutive runs keeps every partition's order. Each segment carries the consumer's offsets
past every record up to its end (the whole batch's for the last segment), stored with the
segment's last transaction: a restart resumes right after the last segment that committed, a
lifecycle run interrupted between chunks included.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.codec import RawRecord
from ledger.core.batch import IncomingCommand
from ledger.core.expiring import IncomingLifecycle
from schemas.dead_letters import DeadLetter

Position = tuple[str, int, int]
Decoded = IncomingCommand | IncomingLifecycle | DeadLetter


@dataclass(frozen=True, slots=True)
class Segment:
    commands: list[IncomingCommand] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    lifecycle: IncomingLifecycle | None = None
    """A lifecycle segment holds only this command."""
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def segments(records: Sequence[RawRecord], decoded: Sequence[Decoded]) -> list[Segment]:
    """`decoded[i]` is what `records[i]` decoded to. Segments without commands or letters are
    left out (the next one's offsets cover their records)."""
    out: list[Segment] = []
    offsets: dict[tuple[str, int], int] = {}
    current = Segment()
    for record, item in zip(records, decoded, strict=True):
        key = (record.topic, record.partition)
        if isinstance(item, IncomingLifecycle):
            if current.commands or current.letters:
                out.append(Segment(current.commands, current.letters, None, dict(offsets)))
            offsets[key] = max(offsets.get(key, 0), record.offset + 1)
            out.append(Segment(lifecycle=item, next_offsets=dict(offsets)))
            current = Segment()
            continue
        offsets[key] = max(offsets.get(key, 0), record.offset + 1)
        if isinstance(item, IncomingCommand):
            current.commands.append(item)
        else:
            current.letters.append(item)
    if current.commands or current.letters:
        out.append(Segment(current.commands, current.letters, None, dict(offsets)))
    return out
