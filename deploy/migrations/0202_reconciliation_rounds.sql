-- depends: 0201_entry_lot_days
-- The periodic ledger check's last round, shared by every console instance
-- (gateway/admin/service/reconciliation.py): the instance that runs a round, under the advisory
-- lock 'periodic-ledger-check', stores its findings here, and every instance publishes them.
-- Before, each instance ran its own rounds: a full scan of the ledger per instance per interval.
CREATE TABLE reconciliation_rounds (
    one_row         boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    -- Rounds finished so far, by every instance.
    rounds          bigint NOT NULL CHECK (rounds > 0),
    completed_at    timestamptz NOT NULL,
    -- {programme_id: {check: mismatches}}, every check named (0 when clean).
    findings        jsonb NOT NULL
);
