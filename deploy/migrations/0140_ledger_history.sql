-- depends: 0100_webhook_leases
-- Issue 18: imported balances keep their expiry, and the ledger answers for the past (a balance
-- as of any instant, a programme's transactions of a period).

-- The day an imported credit's points expire (schemas.ledger.Booking.expires_on): kept on the
-- entry as the booking gave it, for the points lifecycle to turn into the lot's expiry. NULL for
-- every other entry. A nullable column without a default: no rewrite of the journal.
ALTER TABLE ledger.entries ADD COLUMN expires_on date;

-- A balance as of T needs no index of its own (ledger.history): the account's entries are walked
-- back from its newest along entries_credit_account / entries_debit_account (account, entry_id)
-- to the last one recorded at or before T. Another index per side would tax every booking of
-- the writer for a read that finance runs now and then.

-- A programme's transactions of a period (exports): entries are appended in time order, so a
-- block range index on recorded_at finds a period's pages for a few kilobytes of index that the
-- writer barely touches (a new range summarised now and then, no entry per row).
CREATE INDEX IF NOT EXISTS entries_recorded_at_brin
    ON ledger.entries USING brin (recorded_at) WITH (pages_per_range = 32, autosummarize = on);
