-- depends: 0200_lots_as_json
-- Issue 16, bookings with lots at the speed of bookings without: most entries move one dated lot
-- with all their points (an award forms one lot of the day its points expire on; a redemption
-- takes them from the user's earliest lot; an expiry expires one). Such an entry journals that
-- lot as its day alone, in `debit_lot_day` (taken from the debit account) or `credit_lot_day`
-- (formed on the credit account), its points the entry's own, and leaves `debit_lots` /
-- `credit_lots` NULL: a date of 4 bytes instead of a json array the writer encodes and Postgres
-- parses for every booking. Any other movement (several lots, part of the points, a debt repaid
-- first, a never-expiring lot beside dated ones) is journalled as before, as json. Readers take
-- a side's movement from whichever of the two is set (ledger.check's lot check, the returns'
-- original awards); entries written before this migration have only the json.
--
-- ADD COLUMN without a default changes no stored row (no rewrite). The constraints are NOT VALID
-- so that adding them scans nothing: every row from before holds NULL days, which they allow,
-- and every new row is checked.
ALTER TABLE ledger.entries
    ADD COLUMN debit_lot_day date,
    ADD COLUMN credit_lot_day date;
ALTER TABLE ledger.entries
    ADD CONSTRAINT entries_debit_lot_one_form
        CHECK (debit_lot_day IS NULL OR debit_lots IS NULL) NOT VALID,
    ADD CONSTRAINT entries_credit_lot_one_form
        CHECK (credit_lot_day IS NULL OR credit_lots IS NULL) NOT VALID;
