-- depends: 0002_ledger 0120_points_expiry 0150_pending_points
-- Issue 16, returns and refunds (docs/returns.md): a return takes back the returned share of its
-- original's awards as entries of their own variety (Return), each reversing its award, and a
-- user's balance may go below zero where a programme's policy or an operator allows it.

-- Return: the ledger's own variety, user -> the programme's budget, reversing an award.
ALTER TABLE ledger.entries DROP CONSTRAINT entries_variety_check;
ALTER TABLE ledger.entries ADD CONSTRAINT entries_variety_check CHECK (variety IN (
    'Programme Points', 'Points Error', 'Programme Budget', 'Redemption',
    'Person 2 Person Transfer', 'Order Cancelation', 'Order Adjustment', 'Adjustment',
    'Account Closure', 'Points Expiry', 'Points Release', 'Return'));

-- An entry that may take its user's balance below zero (`Booking.allow_negative`): a return
-- under `returns.spent_points: negative_balance`, or a re-base's correction with
-- `--allow-negative`. Only such an entry may: every other one is still held to the floor by
-- ledger.check_new_entries below (and by the writer's planner before it).
ALTER TABLE ledger.entries
    ADD COLUMN allows_negative boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT entries_negative_by_debit_only
        CHECK (NOT allows_negative OR (transaction_type = 'Debit'
                                       AND variety IN ('Adjustment', 'Return')));

-- A user's balance may now be below zero: a debt later credits repay first (ledger.core.lots).
ALTER TABLE ledger.accounts DROP CONSTRAINT accounts_check1;
ALTER TABLE ledger.accounts ADD CONSTRAINT accounts_balance_floor
    CHECK (kind IN ('budget', 'funding', 'user') OR balance >= 0);

-- As before, except that an entry allowed to (`allows_negative`) may take a user's account
-- below zero; the lowest balance-after of the others is still checked.
CREATE OR REPLACE FUNCTION ledger.check_new_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    offending record;
BEGIN
    SELECT n.account_id INTO offending
    FROM (SELECT debit_account_id AS account_id FROM new_entries
          UNION
          SELECT credit_account_id FROM new_entries) AS n
    WHERE NOT EXISTS (SELECT FROM ledger.accounts a WHERE a.account_id = n.account_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry names account %, which does not exist', offending.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT a.account_id, a.kind, l.lowest INTO offending
    FROM (SELECT debit_account_id, min(debit_balance_after) AS lowest FROM new_entries
          WHERE debit_balance_after < 0 AND NOT allows_negative
          GROUP BY debit_account_id) AS l
    JOIN ledger.accounts a ON a.account_id = l.debit_account_id
    JOIN programmes g ON g.programme_id = a.programme_id
    WHERE a.kind <> 'funding'
      AND NOT (a.kind = 'budget' AND g.budget_mode = 'unfunded')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'an entry takes % account % to %', offending.kind,
            offending.account_id, offending.lowest
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

-- One row per return that counts towards its original (refused ones, `over_return` and
-- `unknown_original`, do not): what it returned, and what it took back. The sum of `amount`
-- per original is what the next return of it adds to; written by the ledger writer in the
-- return's transaction, keyed by its command (a redelivery writes nothing more).
CREATE TABLE ledger.returns (
    command_id          text PRIMARY KEY REFERENCES ledger.command_outcomes (command_id),
    programme_id        text NOT NULL REFERENCES programmes (programme_id),
    user_id             text NOT NULL,
    original_event_id   text NOT NULL,
    amount              numeric NOT NULL CHECK (amount > 0),
    points              bigint NOT NULL CHECK (points >= 0),
    shortfall           bigint NOT NULL CHECK (shortfall >= 0),
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX returns_original ON ledger.returns (programme_id, user_id, original_event_id);
