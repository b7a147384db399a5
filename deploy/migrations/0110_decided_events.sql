-- depends: 0002_ledger
-- Issue 17: the archive of decided events (docs/decisions/0013-archive-of-decided-events.md).
--
-- One row per event the processors decided, written by the ledger writer in the same
-- transaction as the event's outcome (ledger.command_outcomes) and only when that outcome is new,
-- so the outcome's key makes the archive idempotent: a redelivered command archives nothing
-- more. A row holds the event as the processors received it, the decision (status, net points,
-- awards, reason code, the programme version used), the programmatic rules' amounts it used and
-- what the ledger did with it (booked, or rejected and why).
--
-- `seq` orders the archive: drawn when the row is inserted, in the writer's booking order, which
-- is each user's decision order (one partition of ledger-commands.v1 carries all of a user's
-- commands, in the order the processors decided them). A replay reads a programme's rows by
-- (programme_id, seq). Partitioned by the month (UTC) of the event's time, the time rules see and
-- backtests select on; an old month is detached or dropped as a whole when it leaves retention.
CREATE SEQUENCE ledger.decided_event_seq AS bigint;

CREATE TABLE ledger.decided_events (
    seq                 bigint NOT NULL DEFAULT nextval('ledger.decided_event_seq'),
    occurred_at         timestamptz NOT NULL,
    programme_id        text NOT NULL,
    user_id             text NOT NULL,
    event_id            text NOT NULL,
    event_type          text NOT NULL,
    programme_version   integer,
    decision_status     text NOT NULL,
    points              bigint NOT NULL,
    reason_code         text,
    -- [{"rule_id", "rule_version", "kind": "earn"|"redeem", "points"}], as the bookings say.
    awards              json NOT NULL,
    -- `json`, not `jsonb`: kept as the text the processors received, and neither parsed into
    -- binary on the ledger's hot path nor rendered back when a replay reads it.
    event               json NOT NULL,
    external_points     json,
    outcome_status      text NOT NULL CHECK (outcome_status IN ('booked', 'rejected')),
    rejection_reason    text,
    recorded_at         timestamptz NOT NULL,
    CHECK ((outcome_status = 'rejected') = (rejection_reason IS NOT NULL)),
    PRIMARY KEY (programme_id, seq, occurred_at)
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE ledger.decided_event_seq OWNED BY ledger.decided_events.seq;

-- The month's partition, created when missing. Attached rather than created as a partition:
-- ATTACH PARTITION takes only a SHARE UPDATE EXCLUSIVE lock on the archive, so a replay
-- reading it does not hold the writer up at the turn of a month. Two writers racing for the
-- same month: the loser finds it made.
CREATE FUNCTION ledger.ensure_decided_events_month(month date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'decided_events_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass('ledger.' || name) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE TABLE ledger.%I (LIKE ledger.decided_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        name);
    EXECUTE format(
        'ALTER TABLE ledger.decided_events ATTACH PARTITION ledger.%I FOR VALUES FROM (%L) TO (%L)',
        name, first::text || ' 00:00:00+00', (first + interval '1 month')::date::text || ' 00:00:00+00');
EXCEPTION WHEN duplicate_table OR unique_violation THEN
    NULL;
END
$$;

-- The months of the archive that exist, for the writer to skip ensuring them.
CREATE FUNCTION ledger.decided_events_months() RETURNS SETOF date
LANGUAGE sql STABLE AS $$
    SELECT to_date(substr(c.relname, length('decided_events_') + 1), 'YYYY_MM')
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'ledger.decided_events'::regclass
$$;

-- Append-only, as the journal: statement-level, so even an UPDATE or DELETE that matches no row
-- fails. (Retention drops whole months: DETACH PARTITION, then DROP TABLE.)
CREATE TRIGGER decided_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.decided_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
