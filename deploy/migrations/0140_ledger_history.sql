-- depends: 0100_webhook_leases
-- Issue 18: imported balances keep their expiry, and the ledger answers for the past (a balance
-- as of any instant, a programme's transactions of a period).

-- The day an imported credit's points expire (schemas.ledger.Booking.expires_on): kept on the
-- entry as the booking gave it, for the points lifecycle to turn into the lot's expiry. NULL for
-- every other entry. A nullable column without a default: no rewrite of the journal.
ALTER TABLE ledger.entries ADD COLUMN expires_on date;

-- A balance as of T is the balance after the account's last entry recorded at or before T
-- (ledger.history): one backward step of one of these indexes per side of the account, however
-- long its history. Each holds the balance after the entry, so the journal itself is not read
-- (the journal is append-only: vacuum keeps its pages all-visible, index-only scans stay so).
-- On a large existing ledger, build them first with CREATE INDEX CONCURRENTLY under these names:
-- IF NOT EXISTS then skips them here instead of locking the writer out for the build.
CREATE INDEX IF NOT EXISTS entries_credit_as_of
    ON ledger.entries (credit_account_id, recorded_at, entry_id) INCLUDE (credit_balance_after);
CREATE INDEX IF NOT EXISTS entries_debit_as_of
    ON ledger.entries (debit_account_id, recorded_at, entry_id) INCLUDE (debit_balance_after);

-- A programme's transactions of a period (exports): entries are appended in time order, so a
-- block range index on recorded_at finds a period's pages for a few kilobytes of index that the
-- writer barely touches (a new range summarised now and then, no entry per row).
CREATE INDEX IF NOT EXISTS entries_recorded_at_brin
    ON ledger.entries USING brin (recorded_at) WITH (pages_per_range = 32, autosummarize = on);
