-- depends: 0002_ledger
-- The programme-level accounts (budget, funding, redeemed, expired, pending: owner_id = ''), a
-- handful per programme among every user's account: what the ledger writer reads every few seconds
-- for the programmes' metrics (ledger.programme_state: outstanding points are those accounts'
-- balances, negated). A partial index finds them without reading the users' accounts, whatever the
-- planner estimates of the programmes' number; it holds no user account, so booking is untouched
-- (balances are not indexed: their updates stay HOT).
CREATE INDEX accounts_programme_level ON ledger.accounts (programme_id, kind) WHERE owner_id = '';
