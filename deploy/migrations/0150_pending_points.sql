-- depends: 0120_points_expiry 0140_ledger_history
-- Issue 16, pending points: a rule's award held back for a return window or until a confirming
-- event, booked at once from the budget to the programme's pending account (reserved for it
-- since 0002), made available by an entry of its own variety (Points Release) when the
-- scheduler's day or the confirmation comes, whichever is first.

-- What the pending account holds for each user (ledger.core.pending): one lot per award,
-- `[["evt_1:r", "order_7", "2026-04-01", "order.completed", 30]]` (award key, reference,
-- release day or null, confirming event type or null, points). NULL where nothing is pending:
-- the state of almost every account, which then stores and rewrites nothing.
-- `pending_next_release` is the earliest release day, what the release run finds accounts by
-- (a partial index of the accounts with one, like accounts_lots_due).
ALTER TABLE ledger.accounts
    ADD COLUMN pending jsonb CHECK (pending IS NULL OR jsonb_typeof(pending) = 'array'),
    ADD COLUMN pending_next_release date,
    ADD CONSTRAINT accounts_pending_users_only CHECK (kind = 'user' OR pending IS NULL);
CREATE INDEX accounts_pending_due ON ledger.accounts (programme_id, pending_next_release, account_id)
    WHERE pending_next_release IS NOT NULL;

-- A pending award's terms on its entry (schemas.ledger.PendingTerms as JSON), and on a release
-- or a cancellation the award's idempotency key it moves the points of: the pending lots are a
-- cache a check can follow back to the journal.
ALTER TABLE ledger.entries
    ADD COLUMN pending jsonb,
    ADD COLUMN pending_of text;
CREATE INDEX entries_pending_of ON ledger.entries (pending_of) WHERE pending_of IS NOT NULL;

ALTER TABLE ledger.entries DROP CONSTRAINT entries_variety_check;
ALTER TABLE ledger.entries ADD CONSTRAINT entries_variety_check CHECK (variety IN (
    'Programme Points', 'Points Error', 'Programme Budget', 'Redemption',
    'Person 2 Person Transfer', 'Order Cancelation', 'Order Adjustment', 'Adjustment',
    'Account Closure', 'Points Expiry', 'Points Release'));

ALTER TABLE ledger.lifecycle_runs DROP CONSTRAINT lifecycle_runs_action_check;
ALTER TABLE ledger.lifecycle_runs ADD CONSTRAINT lifecycle_runs_action_check
    CHECK (action IN ('expire_points', 'release_points'));

-- points.available: one per released award, queued in the release's transaction.
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_event_types_check;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_event_types_check CHECK (
    cardinality(event_types) > 0
    AND event_types <@ ARRAY['points.awarded', 'points.deducted', 'event.rejected',
                             'points.expiring', 'points.expired', 'points.available']);
