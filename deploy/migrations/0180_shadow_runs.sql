-- depends: 0001_config 0110_decided_events
-- Issue 17: shadow runs (docs/decisions/0018-shadow-runs-follow-the-archive-by-transaction.md).
--
-- A candidate configuration runs beside the live one: the shadow worker (evidence.shadow)
-- follows the archive of decided events, decides each new event under the candidate from the
-- candidate's own user states, and stores the decision here. Nothing is booked.

-- The transaction that archived the row (its 64-bit id). The worker follows the archive by it,
-- not by `seq`: a seq is drawn inside the writer's transaction, so a row of seq 100 can commit
-- after a row of seq 101 was read, and a follower of "seq > last" would skip it for ever. Rows
-- of the transactions older than the oldest still running (pg_snapshot_xmin of the reader's
-- snapshot) are all committed or gone, so that horizon is a safe watermark. Nullable and
-- without a default when added (no rewrite of the archive): rows archived before this
-- migration have none and count as history to every shadow run.
ALTER TABLE ledger.decided_events ADD COLUMN tx_id xid8;
ALTER TABLE ledger.decided_events ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id();
CREATE INDEX decided_events_programme_tx ON ledger.decided_events (programme_id, tx_id);

CREATE TABLE shadow_runs (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id        text NOT NULL REFERENCES programmes (programme_id),
    -- The candidate programme file as validated (schemas.programme.ProgrammeConfig, JSON).
    candidate           json NOT NULL,
    candidate_version   integer NOT NULL,
    status              text NOT NULL CHECK (status IN ('running', 'stopped')),
    started_by          text NOT NULL,
    started_at          timestamptz NOT NULL DEFAULT now(),
    stopped_at          timestamptz,
    -- The snapshot taken when the run started: archived rows it sees (committed by then) are
    -- the history that builds the users' states; the others are shadowed. start_tx is its
    -- xmin, where following starts; position_tx: followed up to (exclusive).
    start_snapshot      pg_snapshot NOT NULL,
    start_tx            xid8 NOT NULL,
    position_tx         xid8 NOT NULL,
    followed_at         timestamptz,
    decisions           bigint NOT NULL DEFAULT 0 CHECK (decisions >= 0),
    CHECK ((status = 'stopped') = (stopped_at IS NOT NULL)),
    CHECK (position_tx >= start_tx)
);
CREATE INDEX shadow_runs_programme ON shadow_runs (programme_id, run_id);

-- One row per archived event a run shadowed: the candidate's decision beside the live one.
-- Partitioned by run (a partition made when the run starts): a run's rows are read together
-- and go together (DROP of its partition), and each run is bounded by
-- LOYALTY_SHADOW_DECISIONS_MAX (the worker stops a run that reaches it).
CREATE TABLE shadow_decisions (
    run_id          bigint NOT NULL,
    event_id        text NOT NULL,
    seq             bigint NOT NULL,
    occurred_at     timestamptz NOT NULL,
    user_id         text NOT NULL,
    event_type      text NOT NULL,
    -- The candidate's decision: net points, signed points by rule ({"rule": n}), the tier.
    points          bigint NOT NULL,
    awards          json NOT NULL,
    tier            text,
    -- The live decision as archived, and whether the ledger booked it.
    live_points     bigint NOT NULL,
    live_awards     json NOT NULL,
    live_tier       text,
    booked          boolean NOT NULL,
    -- The versions in force, replayed by the worker, gave what was archived.
    reproduced      boolean NOT NULL,
    PRIMARY KEY (run_id, event_id)
) PARTITION BY LIST (run_id);
