-- Programme configuration and partner credentials. The programme's rules, tiers, partners and
-- event types are stored as one versioned snapshot (schemas.programme.ProgrammeConfig) that is
-- published on config.v1; the relational columns are what other tables and the gateway join on.

CREATE TABLE programmes (
    programme_id    text PRIMARY KEY CHECK (programme_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL,
    environment     text NOT NULL DEFAULT 'production' CHECK (environment IN ('production', 'staging')),
    budget_mode     text NOT NULL DEFAULT 'unfunded' CHECK (budget_mode IN ('funded', 'unfunded')),
    config          jsonb NOT NULL,
    config_version  integer NOT NULL CHECK (config_version >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE partners (
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    partner_id      text NOT NULL CHECK (partner_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, partner_id)
);

-- Only a SHA-256 of each key is kept. Keys are 256-bit random secrets, so a fast hash is
-- enough (no dictionary to attack) and keeps authentication off the request's critical path.
CREATE TABLE api_keys (
    key_id          text PRIMARY KEY,
    key_sha256      bytea NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
    programme_id    text NOT NULL,
    partner_id      text NOT NULL,
    environment     text NOT NULL CHECK (environment IN ('production', 'staging')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    FOREIGN KEY (programme_id, partner_id) REFERENCES partners (programme_id, partner_id)
);
