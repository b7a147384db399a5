-- depends: 0120_points_expiry 0191_shadow_run_summaries
-- Issue 16, bookings with lots at the speed of bookings without: the lot columns hold `json`
-- (the text as the writer sent it, checked for syntax) instead of `jsonb` (parsed into a tree on
-- every write and printed back on every read). The writer rewrites a user's lots with every
-- booking and journals every lot movement, but reads them only whole (`ledger.core.lots.decode`);
-- the only queries that look inside (the ledger check, the points.expiring webhooks) walk them
-- with json_array_elements and `->>`, which json has too. Nothing compares or indexes them.
--
-- ALTER ... TYPE rewrites both tables and rebuilds their indexes under an ACCESS EXCLUSIVE lock
-- (stop the writers first): about 5 s per million entries (1,000,000 entries and 100,000
-- accounts with lots took 5.1 s on a busy 2-core machine, PostgreSQL 15), and the entries
-- shrink by about a sixth (354 to 299 MB there).
ALTER TABLE ledger.accounts DROP CONSTRAINT accounts_lots_check;
ALTER TABLE ledger.accounts
    ALTER COLUMN lots TYPE json USING lots::json,
    ADD CONSTRAINT accounts_lots_check CHECK (lots IS NULL OR json_typeof(lots) = 'array');

ALTER TABLE ledger.entries
    ALTER COLUMN debit_lots TYPE json USING debit_lots::json,
    ALTER COLUMN credit_lots TYPE json USING credit_lots::json;
