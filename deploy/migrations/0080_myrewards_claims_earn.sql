-- depends: 0040_myrewards
-- MyRewards (seed 002), continued: ids per programme, products, and claims that earn points.
--
-- 1. Group, question, promotion and data-field ids are the programme's own: two programmes may
--    both load a file with `id: 1`. Each table's key becomes (programme_id, id), and every
--    reference between them names the programme too, so a row can only ever point at a row of
--    its own programme. Existing rows keep their ids (they were unique across programmes, so
--    they are unique within each). User ids stay drawn from one sequence (the API hands them
--    out; files never name them); references to users name the programme as well.
-- 2. Products: what a claim's `product_or_activity` (SKU) earns per unit, for the programme or
--    for one promotion.
-- 3. Claims are booked through the ledger: one request is one ledger command (all or nothing).
--    The request is stored, with its claims, before the command is published, so nothing
--    accepted is lost; its status follows the ledger's outcome of the command.

-- 1. Ids per programme. The references go first, then the keys they named.
ALTER TABLE myrewards_user_groups DROP CONSTRAINT myrewards_user_groups_parent_id_fkey;
ALTER TABLE myrewards_users DROP CONSTRAINT myrewards_users_user_group_id_fkey;
ALTER TABLE myrewards_registration_answers
    DROP CONSTRAINT myrewards_registration_answers_question_id_fkey,
    DROP CONSTRAINT myrewards_registration_answers_user_id_fkey;
ALTER TABLE myrewards_data_fields DROP CONSTRAINT myrewards_data_fields_promotion_id_fkey;
ALTER TABLE myrewards_claims
    DROP CONSTRAINT myrewards_claims_promotion_id_fkey,
    DROP CONSTRAINT myrewards_claims_user_id_fkey;

ALTER TABLE myrewards_user_groups
    DROP CONSTRAINT myrewards_user_groups_pkey,
    ADD PRIMARY KEY (programme_id, user_group_id);
DROP INDEX myrewards_user_groups_programme;  -- the new key's index
ALTER TABLE myrewards_registration_questions
    DROP CONSTRAINT myrewards_registration_questions_pkey,
    ADD PRIMARY KEY (programme_id, question_id);
DROP INDEX myrewards_questions_programme;
ALTER TABLE myrewards_promotions
    DROP CONSTRAINT myrewards_promotions_pkey,
    ADD PRIMARY KEY (programme_id, promotion_id);
ALTER TABLE myrewards_data_fields
    DROP CONSTRAINT myrewards_data_fields_pkey,
    ADD PRIMARY KEY (programme_id, data_field_id);
-- User ids are unique on their own; this key is what the references by programme name.
ALTER TABLE myrewards_users ADD CONSTRAINT myrewards_users_programme_user UNIQUE (programme_id, user_id);
DROP INDEX myrewards_users_programme;

ALTER TABLE myrewards_user_groups ADD CONSTRAINT myrewards_user_groups_parent
    FOREIGN KEY (programme_id, parent_id)
    REFERENCES myrewards_user_groups (programme_id, user_group_id);
ALTER TABLE myrewards_users ADD CONSTRAINT myrewards_users_user_group
    FOREIGN KEY (programme_id, user_group_id)
    REFERENCES myrewards_user_groups (programme_id, user_group_id);
ALTER TABLE myrewards_data_fields ADD CONSTRAINT myrewards_data_fields_promotion
    FOREIGN KEY (programme_id, promotion_id)
    REFERENCES myrewards_promotions (programme_id, promotion_id);

-- An answer names its programme, so that its question is one of the user's programme.
ALTER TABLE myrewards_registration_answers ADD COLUMN programme_id text;
UPDATE myrewards_registration_answers AS a SET programme_id = u.programme_id
FROM myrewards_users AS u WHERE u.user_id = a.user_id;
ALTER TABLE myrewards_registration_answers
    ALTER COLUMN programme_id SET NOT NULL,
    ADD CONSTRAINT myrewards_registration_answers_user
        FOREIGN KEY (programme_id, user_id) REFERENCES myrewards_users (programme_id, user_id),
    ADD CONSTRAINT myrewards_registration_answers_question
        FOREIGN KEY (programme_id, question_id)
        REFERENCES myrewards_registration_questions (programme_id, question_id);

-- 2. Products. A product with a promotion is claimable only with that promotion; one without is
-- the programme's, claimable with or without a promotion (a promotion's own product of the same
-- SKU wins). 0 points per unit: claims of it are stored and listed, and book nothing.
CREATE TABLE myrewards_products (
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    product_id      bigint NOT NULL,
    promotion_id    bigint,
    sku             text NOT NULL CHECK (length(sku) BETWEEN 1 AND 255),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    points_per_unit bigint NOT NULL CHECK (points_per_unit BETWEEN 0 AND 1000000),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, product_id),
    FOREIGN KEY (programme_id, promotion_id)
        REFERENCES myrewards_promotions (programme_id, promotion_id),
    -- Checked at commit, so that one file may swap two products' SKUs.
    CONSTRAINT myrewards_products_sku UNIQUE NULLS NOT DISTINCT (programme_id, promotion_id, sku)
        DEFERRABLE INITIALLY DEFERRED
);

-- 3. Claims requests: one per POST, one ledger command each. `request_sha256` is over what the
-- request stores and books, so the same Idempotency-Key with another request is a conflict.
-- `checked_at`: when a listing last asked the ledger about a request still pending.
CREATE TABLE myrewards_claim_requests (
    command_id      text PRIMARY KEY,
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    request_sha256  bytea NOT NULL CHECK (length(request_sha256) = 32),
    promotion_id    bigint,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'booked', 'rejected')),
    reason_code     text,
    claims          integer NOT NULL CHECK (claims BETWEEN 1 AND 1000),
    points          bigint NOT NULL CHECK (points >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    checked_at      timestamptz,
    FOREIGN KEY (programme_id, promotion_id)
        REFERENCES myrewards_promotions (programme_id, promotion_id),
    CHECK ((status = 'rejected') = (reason_code IS NOT NULL))
);
CREATE INDEX myrewards_claim_requests_pending ON myrewards_claim_requests
    (programme_id, checked_at NULLS FIRST, created_at) WHERE status = 'pending';

-- A claim's status is its request's (copied, so that a listing is one indexed read): pending
-- until the ledger books the command, then booked; a refused request's claims are deleted.
-- Claims stored before claims earned points have no request: status `stored`, 0 points.
ALTER TABLE myrewards_claims
    ADD COLUMN command_id text REFERENCES myrewards_claim_requests (command_id),
    ADD COLUMN claim_index integer CHECK (claim_index BETWEEN 0 AND 999),
    ADD COLUMN product_id bigint,
    ADD COLUMN points bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    ADD COLUMN status text NOT NULL DEFAULT 'stored'
        CHECK (status IN ('stored', 'pending', 'booked')),
    ADD CONSTRAINT myrewards_claims_request_index UNIQUE (command_id, claim_index),
    ADD CONSTRAINT myrewards_claims_requested
        CHECK ((command_id IS NULL) = (claim_index IS NULL)
               AND (command_id IS NULL) = (status = 'stored')
               AND (command_id IS NULL OR product_id IS NOT NULL)),
    ADD CONSTRAINT myrewards_claims_user
        FOREIGN KEY (programme_id, user_id) REFERENCES myrewards_users (programme_id, user_id),
    ADD CONSTRAINT myrewards_claims_promotion
        FOREIGN KEY (programme_id, promotion_id)
        REFERENCES myrewards_promotions (programme_id, promotion_id),
    ADD CONSTRAINT myrewards_claims_product
        FOREIGN KEY (programme_id, product_id)
        REFERENCES myrewards_products (programme_id, product_id);
CREATE INDEX myrewards_claims_listed ON myrewards_claims (programme_id, status, claim_id);
