-- depends: 0001_config
-- API clients (seed 001): identified by client id and secret, allowed to trigger the rules that
-- list them as authorised. As with API keys, only a SHA-256 of the secret is kept.

CREATE TABLE api_clients (
    client_id       text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9_.-]{1,128}$'),
    secret_sha256   bytea NOT NULL CHECK (length(secret_sha256) = 32),
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    environment     text NOT NULL CHECK (environment IN ('production', 'staging')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
