-- depends: 0002_ledger 0020_webhooks 0060_outcome_reasons 0070_programme_accounts
-- Issue 16, points lifecycle: earned points held as lots with the day they expire on, every
-- debit taking the earliest-expiring first, and expiry at the programme's local midnight as
-- entries of their own variety, driven by commands the scheduler emits per programme and day.

-- A user's open lots (ledger.core.lots): `[["2026-04-01", 30], [null, 12]]`, ordered by the
-- local day at whose midnight they expire (null: never), one lot per day, their sum the
-- available balance. NULL stands for "every open point never expires": the state of every
-- account of a programme without expiry and of every account from before lots were kept, so
-- neither stores nor rewrites anything. Written by the ledger writer with the balance, in the
-- same UPDATE; `lots_next_due` is the first lot's day, what the expiry run looks accounts up by.
-- The partial index holds only accounts with an expiring lot: an update that leaves the day
-- as it was (NULL stays NULL for programmes without expiry) stays HOT.
ALTER TABLE ledger.accounts
    ADD COLUMN lots jsonb CHECK (lots IS NULL OR jsonb_typeof(lots) = 'array'),
    ADD COLUMN lots_next_due date,
    ADD CONSTRAINT accounts_lots_users_only CHECK (kind = 'user' OR lots IS NULL);
CREATE INDEX accounts_lots_due ON ledger.accounts (programme_id, lots_next_due, account_id)
    WHERE lots_next_due IS NOT NULL;

-- What each entry moved of its user accounts' lots: `debit_lots` taken from the debit account,
-- `credit_lots` formed on the credit account (a transfer's carry the dates of those it took).
-- NULL where that side is not a user's, or where the account held, and the entry moved, only
-- never-expiring points. Append-only with the rest of the entry: the lots are a cache a check
-- can follow back to the journal.
ALTER TABLE ledger.entries
    ADD COLUMN debit_lots jsonb,
    ADD COLUMN credit_lots jsonb;

-- Points Expiry: the ledger's own variety, user -> the programme's expired account.
ALTER TABLE ledger.entries DROP CONSTRAINT entries_variety_check;
ALTER TABLE ledger.entries ADD CONSTRAINT entries_variety_check CHECK (variety IN (
    'Programme Points', 'Points Error', 'Programme Budget', 'Redemption',
    'Person 2 Person Transfer', 'Order Cancelation', 'Order Adjustment', 'Adjustment',
    'Account Closure', 'Points Expiry'));

-- One row per lifecycle command the writer has started (schemas.ledger.LifecycleCommand): an
-- expiry run books in bounded chunks, one transaction each, and this row says how far it got.
-- The command's outcome is stored with its first chunk (0 points: its entries are the users'),
-- the consumer's offset past it with its last (`finished_at`). A run interrupted between
-- chunks continues where it stopped when the command is read again; a finished one is a
-- repeat.
CREATE TABLE ledger.lifecycle_runs (
    command_id      text PRIMARY KEY,
    payload_sha256  bytea NOT NULL CHECK (length(payload_sha256) = 32),
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    action          text NOT NULL CHECK (action IN ('expire_points')),
    local_day       date NOT NULL,
    effective_at    timestamptz NOT NULL,
    chunks          integer NOT NULL DEFAULT 0 CHECK (chunks >= 0),
    accounts        bigint NOT NULL DEFAULT 0 CHECK (accounts >= 0),
    lots            bigint NOT NULL DEFAULT 0 CHECK (lots >= 0),
    points          bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    notices         bigint NOT NULL DEFAULT 0 CHECK (notices >= 0),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
) WITH (fillfactor = 70);  -- rewritten by every chunk of its run
CREATE INDEX lifecycle_runs_programme_day ON ledger.lifecycle_runs (programme_id, local_day);

-- The scheduler (loyalty-scheduler) remembers the last local day it emitted each programme's
-- commands for: it emits the days after it, in order, and records a day only once Kafka holds
-- its commands, so a restart re-emits (harmless: the commands are idempotent) rather than skips.
CREATE TABLE scheduler_days (
    programme_id    text PRIMARY KEY REFERENCES programmes (programme_id),
    last_day        date NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Webhooks of the lifecycle: points.expiring (PointsExpiry.notice_days before) and
-- points.expired, one per user and day, written by the expiry run in its own transactions.
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_event_types_check;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_event_types_check CHECK (
    cardinality(event_types) > 0
    AND event_types <@ ARRAY['points.awarded', 'points.deducted', 'event.rejected',
                             'points.expiring', 'points.expired']);
