"""Changes that are requests to another service (a ledger command, an event): made once per
one-time key, however often they are submitted. The audit entry is the request's record: it is
written before the request is published, so nothing published is unaudited; a second submission
with the same key finds it and publishes the same request again (which the ledger or the
processors recognise), and the same key with another request is refused."""

import orjson
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Conflict


async def audited_once(
    connection: audit.Connection,
    actor: Actor,
    action: audit.Action,
    object_type: str,
    object_id: str,
    programme_id: str,
    before: JsonValue,
    after: dict[str, JsonValue],
    key: str,
) -> bool:
    """Inside a transaction: the audit entry of the request `after` identified by its `key`
    field, unless one exists; True when written now. Conflict when the key's entry asked for
    something else."""
    request_id = str(after[key])
    # Two submissions of one key at once: the second waits here and then finds the first.
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"audited-once:{request_id}"
    )
    existing = await connection.fetchval(
        "SELECT after::text FROM audit_log WHERE object_type = $1 AND object_id = $2 "
        "AND programme_id = $3 AND action = $4 AND after ->> $5 = $6 LIMIT 1",
        object_type, object_id, programme_id, action.value, key, request_id,
    )  # fmt: skip
    if existing is not None:
        if orjson.loads(existing) != after:
            raise Conflict(
                f"the one-time key of this form was used for another request ({request_id}): "
                "reload the page and submit it again"
            )
        return False
    await audit.record(
        connection, actor, action, object_type, object_id, programme_id, before, after
    )
    return True
