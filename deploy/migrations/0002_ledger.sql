-- depends: 0001_config

-- The ledger: the source of truth for every point (ARCHITECTURE.md, "The ledger").
--
-- Double-entry: a posting moves `amount` points from a debit account to a credit account, so the
-- sum over all accounts is always zero. Journal entries, postings and command outcomes are
-- append-only (triggers below refuse UPDATE, DELETE and TRUNCATE); a correction is a new entry
-- that names the one it reverses. `accounts.balance` is a cache of the postings, kept because the
-- writer needs every touched balance once per batch and one indexed row per account is far cheaper
-- than finding each account's last posting; ledger.balance_mismatches() recomputes it.

CREATE SCHEMA ledger;

-- One row per (programme, kind, owner). Users' accounts are created on first use.
--   user      a user's points (owner_id = user id), never below zero
--   budget    the programme's issuance account: funded -> never below zero; unfunded -> its
--             negative balance is the outstanding liability
--   funding   where a funded budget's points come from (the outside world), negative by design
--   redeemed  points spent on orders; order cancellations and adjustments give them back
--   expired   points forfeited (account closure when the programme keeps them out of its budget)
--   pending   reserved for awards that are not yet available
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
    -- The budget's floor depends on the programme's budget_mode: checked per posting below.
    CHECK (kind IN ('budget', 'funding') OR balance >= 0)
);

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

-- The journal: one row per booking. Ids are drawn by the writer from entry_id_seq before the
-- insert so that a reversal can name an entry booked earlier in the same batch.
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
    reason                  varchar(250) NOT NULL,
    remote_transaction_id   text,
    counterparty_user_id    text,
    reverses_entry_id       bigint REFERENCES ledger.entries (entry_id),
    source_event_id         text,
    rule_id                 text,
    rule_version            integer,
    occurred_at             timestamptz,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (reverses_entry_id IS NULL OR reverses_entry_id < entry_id)
);
ALTER SEQUENCE ledger.entry_id_seq OWNED BY ledger.entries.entry_id;

CREATE INDEX entries_reverses ON ledger.entries (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;

-- Postings carry the balance after the posting on each side, which is what the transaction list
-- shows as the running balance.
CREATE TABLE ledger.postings (
    posting_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id                bigint NOT NULL REFERENCES ledger.entries (entry_id),
    debit_account_id        bigint NOT NULL REFERENCES ledger.accounts (account_id),
    credit_account_id       bigint NOT NULL REFERENCES ledger.accounts (account_id),
    amount                  bigint NOT NULL CHECK (amount > 0),
    debit_balance_after     bigint NOT NULL,
    credit_balance_after    bigint NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX postings_debit_account ON ledger.postings (debit_account_id, posting_id);
CREATE INDEX postings_credit_account ON ledger.postings (credit_account_id, posting_id);
CREATE INDEX postings_entry ON ledger.postings (entry_id);

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
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER command_outcomes_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.command_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();

-- No posting may take an account below its floor: users, redeemed, expired and pending never go
-- below zero, a funded budget neither. One set-based check per insert statement (the writer
-- inserts a whole batch at once), not one query per row.
CREATE FUNCTION ledger.check_posting_floors() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    offending record;
BEGIN
    SELECT p.posting_id, a.account_id, a.kind, p.debit_balance_after INTO offending
    FROM new_postings p
    JOIN ledger.accounts a ON a.account_id = p.debit_account_id
    JOIN programmes g ON g.programme_id = a.programme_id
    WHERE p.debit_balance_after < 0
      AND a.kind <> 'funding'
      AND NOT (a.kind = 'budget' AND g.budget_mode = 'unfunded')
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting % takes % account % to %', offending.posting_id,
            offending.kind, offending.account_id, offending.debit_balance_after
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER postings_floor AFTER INSERT ON ledger.postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.check_posting_floors();

-- A reversal names an entry that is not itself a reversal, in the same programme, and all the
-- reversals of one entry never add up to more than it. The row lock on the original serialises
-- two transactions reversing the same entry.
CREATE FUNCTION ledger.check_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    original ledger.entries%ROWTYPE;
    reversed_points bigint;
BEGIN
    SELECT * INTO original FROM ledger.entries
    WHERE entry_id = NEW.reverses_entry_id FOR UPDATE;
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

-- Accounts whose cached balance disagrees with their postings (the sum of credits minus debits,
-- and the balance after the latest posting). An empty result is the proof.
CREATE FUNCTION ledger.balance_mismatches()
RETURNS TABLE (account_id bigint, cached bigint, from_postings bigint, latest_balance_after bigint)
LANGUAGE sql STABLE AS $$
    WITH movements AS (
        SELECT credit_account_id AS account_id, amount AS delta, posting_id,
               credit_balance_after AS balance_after
        FROM ledger.postings
        UNION ALL
        SELECT debit_account_id, -amount, posting_id, debit_balance_after
        FROM ledger.postings
    ), per_account AS (
        SELECT m.account_id, sum(m.delta)::bigint AS total,
               (array_agg(m.balance_after ORDER BY m.posting_id DESC))[1] AS latest
        FROM movements m
        GROUP BY m.account_id
    )
    SELECT a.account_id, a.balance, coalesce(p.total, 0), coalesce(p.latest, 0)
    FROM ledger.accounts a
    LEFT JOIN per_account p ON p.account_id = a.account_id
    WHERE a.balance <> coalesce(p.total, 0) OR a.balance <> coalesce(p.latest, 0)
$$;

-- Postings whose balance-after does not follow from the account's previous posting.
CREATE FUNCTION ledger.running_balance_breaks()
RETURNS TABLE (account_id bigint, posting_id bigint, balance_after bigint, expected bigint)
LANGUAGE sql STABLE AS $$
    WITH movements AS (
        SELECT credit_account_id AS account_id, posting_id, amount AS delta,
               credit_balance_after AS balance_after
        FROM ledger.postings
        UNION ALL
        SELECT debit_account_id, posting_id, -amount, debit_balance_after
        FROM ledger.postings
    ), chained AS (
        SELECT m.account_id, m.posting_id, m.balance_after,
               coalesce(lag(m.balance_after) OVER w, 0) + m.delta AS expected
        FROM movements m
        WINDOW w AS (PARTITION BY m.account_id ORDER BY m.posting_id)
    )
    SELECT c.account_id, c.posting_id, c.balance_after, c.expected
    FROM chained c
    WHERE c.balance_after <> c.expected
$$;
