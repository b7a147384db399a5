"""'Try an event': a programme's rules (drafts included on request) decide an event against the
user's real state, with the explanation; nothing is stored."""

from fastapi import APIRouter, Request

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import trying
from gateway.admin.service.trying import Trial
from schemas.previews import PreviewReply

router = APIRouter(tags=["try an event"])


@router.post("/programmes/{programme_id}/try-event", response_model=PreviewReply)
async def try_event(
    request: Request, actor: ActorDep, programme_id: str, trial: Trial
) -> PreviewReply:
    """The processors' decision for this event now (points, status, reason and every rule's
    trace), with the draft rules active when `include_drafts`; nothing is stored, counted or
    audited, and viewers may try too. 400 for an undeclared event type or an unknown partner,
    503 when the processors do not answer in time (retry)."""
    return await trying.try_event(console_of(request).backend, actor, programme_id, trial)
