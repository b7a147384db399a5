-- depends: 0150_pending_points 0180_shadow_runs
-- Issue 16: a user's transaction lists show their pending awards (ledger.pending_awards). An
-- award is booked from the budget to the programme's pending account, not to the user's, so the
-- lists cannot find it by the user's account (entries_credit_account would walk every award of
-- the programme): they find it by its user. Partial: only awards carry `pending`, so the writer
-- pays for this index on pending awards alone.
CREATE INDEX entries_pending_awards ON ledger.entries (programme_id, user_id, entry_id)
    WHERE pending IS NOT NULL;
