-- depends: 0150_pending_points 0160_returns
-- Issue 16: 0150 (pending points) and 0160 (returns) were written side by side and each set the
-- entries' variety check to the list before it plus its own variety, so whichever ran last
-- dropped the other's: a database migrated in id order refused every Points Release. Both
-- varieties, and a return's cancellation of a pending award (a Return entry from the pending
-- account), need one list with both.
ALTER TABLE ledger.entries DROP CONSTRAINT entries_variety_check;
ALTER TABLE ledger.entries ADD CONSTRAINT entries_variety_check CHECK (variety IN (
    'Programme Points', 'Points Error', 'Programme Budget', 'Redemption',
    'Person 2 Person Transfer', 'Order Cancelation', 'Order Adjustment', 'Adjustment',
    'Account Closure', 'Points Expiry', 'Points Release', 'Return'));
