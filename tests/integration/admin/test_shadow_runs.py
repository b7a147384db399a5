"""Shadow runs through the service layer on the real Postgres: started (audited), listed,
refused for a viewer, for a candidate of another programme and past the running bound;
stopped once (audited); a report of a run with no decisions yet is empty, and a period whose
end is not after its start is refused."""

from datetime import UTC, datetime

import pytest

from gateway.admin.service import audit, shadow_runs
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin

pytestmark = pytest.mark.integration


async def test_a_shadow_run_is_started_listed_reported_and_stopped(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pool, pid = backend.pool, programme.programme_id
    run = await shadow_runs.start(pool, CLI, pid, programme)
    assert (run.status, run.candidate_version, run.decisions) == ("running", 1, 0)
    assert (run.live_points, run.points, run.users_affected) == (0, 0, 0)
    assert [r.run_id for r in await shadow_runs.listed(pool, CLI, pid)] == [run.run_id]

    viewer = (await make_admin(backend.pool, "viewer", [pid])).actor()
    with pytest.raises(Forbidden):
        await shadow_runs.start(pool, viewer, pid, programme)
    with pytest.raises(Forbidden):
        await shadow_runs.stop(pool, viewer, run.run_id)
    stranger = (await make_admin(backend.pool, "editor", [])).actor()
    with pytest.raises(NotFound):
        await shadow_runs.get(pool, stranger, run.run_id)
    other = programme.model_copy(update={"programme_id": "elsewhere"})
    with pytest.raises(Invalid):
        await shadow_runs.start(pool, CLI, pid, other)
    for _ in range(shadow_runs.RUNNING_PER_PROGRAMME_MAX - 1):
        await shadow_runs.start(pool, CLI, pid, programme)
    with pytest.raises(Conflict):
        await shadow_runs.start(pool, CLI, pid, programme)

    _, report = await shadow_runs.report(pool, viewer, run.run_id)
    assert (report.events, report.shadow_run_id, report.by_rule()) == (0, run.run_id, [])
    moment = datetime(2026, 5, 1, tzinfo=UTC)
    assert await shadow_runs.decisions_within(pool, run, None, None) == 0
    assert await shadow_runs.decisions_within(pool, run, moment, None) == 0
    with pytest.raises(Invalid):
        await shadow_runs.report(pool, CLI, run.run_id, moment, moment)

    stopped = await shadow_runs.stop(pool, CLI, run.run_id)
    assert stopped.status == "stopped"
    assert stopped.stopped_at is not None
    assert await shadow_runs.stop(pool, CLI, run.run_id) == stopped
    entries = await audit.entries(pool, CLI, audit.Filters(pid, "shadow_run", str(run.run_id)))
    assert [e.action for e in entries] == ["shadow_run.stopped", "shadow_run.started"]
