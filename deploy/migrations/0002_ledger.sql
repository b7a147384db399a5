-- depends: 0001_config

-- The ledger: the source of truth for every point (ARCHITECTURE.md, "The ledger").
--
-- Double-entry: every journal entry moves `points` from a debit account to a credit account in
-- one row, so the sum over all accounts is always zero. Journal entries and command outcomes are
-- append-only (triggers below refuse UPDATE, DELETE and TRUNCATE); a correction is a new entry
-- that names the one it reverses. `accounts.balance` is a cache of the entries, kept because the
-- writer needs every touched balance once per batch and one indexed row per account is far cheaper
-- than finding each account's last entry; ledger.balance_mismatches() recomputes it.
--
-- Built for a writer that books whole batches: every check that needs another table runs once
-- per INSERT statement over its transition table, never once per row.

CREATE SCHEMA ledger;

-- One row per (programme, kind, owner). Users' accounts are created on first use.
--   user      a user's points (owner_id = user id), never below zero
--   budget    the programme's issuance account: funded -> never below zero; unfunded -> its
--             negative balance is the outstanding liability
--   funding   where a funded budget's points come from (the outside world), negative by design
--   redeemed  points spent on orders; order cancellations and adjustments give them back
--   expired   points forfeited (account closure when the programme keeps them out of its budget)
--   pending   reserved for awards that are not yet available
-- fillfactor: every batch rewrites the balance of each account it touches; free room on the page
-- keeps those updates HOT (no index is touched, the old versions are pruned in place).
CREATE TABLE ledger.accounts (
    account_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    kind            text NOT NULL
                    CHECK (kind IN ('user', 'budget', 'funding', 'redeemed', 'expired', 'pending')),
    owner_id        text NOT NULL DEFAULT '',
    balance         bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (programme_id, kind, owner_id),
    CHECK ((kind = 'user') = (owner_id <> '')),
    -- The budget's floor depends on the programme's budget_mode: checked per entry below.
    CHECK (kind IN ('budget', 'funding') OR balance >= 0)
) WITH (fillfactor = 70);

-- One row per command (ledger-commands.v1), whatever happened to it: what the gateway reads for
-- GET /events/{event_id} and what `NOTIFY ledger_outcomes, '<command_id>'` announces.
CREATE TABLE ledger.command_outcomes (
    command_id          text PRIMARY KEY,
    payload_sha256      bytea NOT NULL CHECK (length(payload_sha256) = 32),
    programme_id        text NOT NULL,
    user_id             text,  -- NULL for programme-level commands (budget funding)
    status              text NOT NULL CHECK (status IN ('booked', 'duplicate', 'rejected')),
    reason_code         text,
    reason_message      text,
    points              bigint NOT NULL,
    balance_after       bigint,
    explanation         jsonb,
    source_event_id     text,
    source_topic        text,
    source_partition    integer,
    source_offset       bigint,
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (reason_code IS NOT NULL))
);

-- The journal: one row per booking, which is also its posting (a booking always moves points
-- between exactly two accounts, so a separate postings table would only repeat the entry's key
-- with one more primary key, foreign key and index to maintain per booking). Each side carries
-- its balance after the entry: the running balance the transaction list shows.
-- Ids are drawn by the writer from entry_id_seq before the insert so that a reversal can name an
-- entry booked earlier in the same batch; under the account locks, so per account they increase
-- in booking order.
CREATE SEQUENCE ledger.entry_id_seq AS bigint;

CREATE TABLE ledger.entries (
    entry_id                bigint PRIMARY KEY DEFAULT nextval('ledger.entry_id_seq'),
    idempotency_key         text NOT NULL UNIQUE,
    payload_sha256          bytea NOT NULL CHECK (length(payload_sha256) = 32),
    command_id              text NOT NULL,
    programme_id            text NOT NULL,
    user_id                 text,
    transaction_type        text NOT NULL CHECK (transaction_type IN ('Credit', 'Debit')),
    variety                 text NOT NULL CHECK (variety IN (
                                'Programme Points', 'Points Error', 'Programme Budget',
                                'Redemption', 'Person 2 Person Transfer', 'Order Cancelation',
                                'Order Adjustment', 'Adjustment', 'Account Closure')),
    points                  bigint NOT NULL CHECK (points > 0),
    debit_account_id        bigint NOT NULL,
    credit_account_id       bigint NOT NULL,
    debit_balance_after     bigint NOT NULL,
    credit_balance_after    bigint NOT NULL,
    reason                  varchar(250) NOT NULL,
    remote_transaction_id   text,
    counterparty_user_id    text,
    reverses_entry_id       bigint,
    source_event_id         text,
    rule_id                 text,
    rule_version            integer,
    occurred_at             timestamptz,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (debit_account_id <> credit_account_id),
    CHECK (reverses_entry_id IS NULL OR reverses_entry_id < entry_id)
);
ALTER SEQUENCE ledger.entry_id_seq OWNED BY ledger.entries.entry_id;

-- What the reads need: an account's entries in order (ledger.queries), an entry's reversals.
CREATE INDEX entries_debit_account ON ledger.entries (debit_account_id, entry_id);
CREATE INDEX entries_credit_account ON ledger.entries (credit_account_id, entry_id);
CREATE INDEX entries_reverses ON ledger.entries (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;

-- Where each consumer group is in each partition: written in the same transaction as the
-- bookings, so a batch and its position commit together (exactly-once into Postgres).
CREATE TABLE ledger.consumer_offsets (
    consumer_group  text NOT NULL,
    topic           text NOT NULL,
    partition       integer NOT NULL CHECK (partition >= 0),
    next_offset     bigint NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Append-only: statement-level, so even an UPDATE or DELETE that matches no row fails.
CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'raise_exception', HINT = 'book a reversing entry instead';
END
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER command_outcomes_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.command_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- An account, once created, keeps its id and identity for ever; only its cached balance changes.
-- This is what lets ledger.check_new_entries() stand in for foreign keys from the journal: an
-- account that existed when an entry was inserted can never disappear or become another one.
CREATE FUNCTION ledger.refuse_account_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.accounts: % of an account''s identity refused', TG_OP
        USING ERRCODE = 'raise_exception', HINT = 'only the balance of an account may change';
END
$$;

CREATE TRIGGER accounts_identity_fixed
    BEFORE UPDATE OF account_id, programme_id, kind, owner_id OR DELETE OR TRUNCATE
    ON ledger.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_account_change();

-- Once per INSERT statement over all its new entries (the writer inserts a whole batch at once):
--   * both accounts of every entry exist: a foreign key's check, without its two row triggers
--     and two index probes per entry (accounts cannot be deleted or re-keyed, see above);
--   * no entry takes an account below its floor: users, redeemed, expired and pending never go
--     below zero, a funded budget neither. Only each account's lowest balance-after is checked.
CREATE FUNCTION ledger.check_new_entries() RETURNS trigger LANGUAGE plpgsql AS $$
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
          WHERE debit_balance_after < 0 GROUP BY debit_account_id) AS l
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

CREATE TRIGGER entries_checked AFTER INSERT ON ledger.entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_new_entries();

-- A reversal names an existing entry that is not itself a reversal, in the same programme, and
-- all the reversals of one entry never add up to more than it. The row lock on the original
-- serialises two transactions reversing the same entry. Row-level, but only for reversals.
CREATE FUNCTION ledger.check_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    original ledger.entries%ROWTYPE;
    reversed_points bigint;
BEGIN
    SELECT * INTO original FROM ledger.entries
    WHERE entry_id = NEW.reverses_entry_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'entry % reverses entry %, which does not exist',
            NEW.entry_id, NEW.reverses_entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF original.reverses_entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'entry % reverses entry %, itself a reversal',
            NEW.entry_id, original.entry_id USING ERRCODE = 'check_violation';
    END IF;
    IF original.programme_id <> NEW.programme_id THEN
        RAISE EXCEPTION 'entry % reverses entry % of another programme',
            NEW.entry_id, original.entry_id USING ERRCODE = 'check_violation';
    END IF;
    SELECT sum(points) INTO reversed_points FROM ledger.entries
    WHERE reverses_entry_id = NEW.reverses_entry_id;
    IF reversed_points > original.points THEN
        RAISE EXCEPTION 'reversals of entry % total % points, more than its %',
            original.entry_id, reversed_points, original.points USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_reversal AFTER INSERT ON ledger.entries
    FOR EACH ROW WHEN (NEW.reverses_entry_id IS NOT NULL)
    EXECUTE FUNCTION ledger.check_reversal();

-- Every entry seen from each of its two accounts, in booking order.
CREATE VIEW ledger.movements AS
    SELECT credit_account_id AS account_id, entry_id, points AS delta,
           credit_balance_after AS balance_after
    FROM ledger.entries
    UNION ALL
    SELECT debit_account_id, entry_id, -points, debit_balance_after
    FROM ledger.entries;

-- Accounts whose cached balance disagrees with their entries (the sum of credits minus debits,
-- and the balance after the latest entry). An empty result is the proof.
CREATE FUNCTION ledger.balance_mismatches()
RETURNS TABLE (account_id bigint, cached bigint, from_entries bigint, latest_balance_after bigint)
LANGUAGE sql STABLE AS $$
    WITH per_account AS (
        SELECT m.account_id, sum(m.delta)::bigint AS total,
               (array_agg(m.balance_after ORDER BY m.entry_id DESC))[1] AS latest
        FROM ledger.movements m
        GROUP BY m.account_id
    )
    SELECT a.account_id, a.balance, coalesce(p.total, 0), coalesce(p.latest, 0)
    FROM ledger.accounts a
    LEFT JOIN per_account p ON p.account_id = a.account_id
    WHERE a.balance <> coalesce(p.total, 0) OR a.balance <> coalesce(p.latest, 0)
$$;

-- Entries whose balance-after does not follow from the account's previous entry.
CREATE FUNCTION ledger.running_balance_breaks()
RETURNS TABLE (account_id bigint, entry_id bigint, balance_after bigint, expected bigint)
LANGUAGE sql STABLE AS $$
    WITH chained AS (
        SELECT m.account_id, m.entry_id, m.balance_after,
               coalesce(lag(m.balance_after) OVER w, 0) + m.delta AS expected
        FROM ledger.movements m
        WINDOW w AS (PARTITION BY m.account_id ORDER BY m.entry_id)
    )
    SELECT c.account_id, c.entry_id, c.balance_after, c.expected
    FROM chained c
    WHERE c.balance_after <> c.expected
$$;
