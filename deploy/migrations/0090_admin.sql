-- depends: 0001_config 0070_programme_accounts
-- Issue 15: the business console and the admin API (gateway.admin). People who administer
-- programmes, what they may see, their sessions and tokens, the audit of every change, and every
-- stored version of a programme's configuration.

-- An admin's role applies to every programme they are granted: an owner also creates programmes
-- and manages admins, an editor changes configuration and keys, a viewer only reads. Only an
-- owner may be granted every programme at once (all_programmes), present and future.
CREATE TABLE admins (
    admin_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL UNIQUE
                    CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    -- argon2id, in the encoded form argon2-cffi writes (parameters and salt included).
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role            text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    all_programmes  boolean NOT NULL DEFAULT false CHECK (role = 'owner' OR NOT all_programmes),
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_grants (
    admin_id        bigint NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    granted_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (admin_id, programme_id)
);

-- The cookie holds a 256-bit random id; only its SHA-256 is kept, as for API keys, so a copy of
-- this table opens no session. The CSRF secret is what every form of the session carries back.
CREATE TABLE admin_sessions (
    session_sha256  bytea PRIMARY KEY CHECK (length(session_sha256) = 32),
    admin_id        bigint NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    csrf_secret     text NOT NULL CHECK (length(csrf_secret) >= 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

-- Failed logins are counted here, not in a process's memory, so a restart (or a second console)
-- does not reset the limit. Rows older than the window are deleted as logins come.
CREATE TABLE admin_login_attempts (
    attempt_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    address         text NOT NULL,
    succeeded       boolean NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_login_failures_by_email ON admin_login_attempts (email, at) WHERE NOT succeeded;
CREATE INDEX admin_login_failures_by_address ON admin_login_attempts (address, at) WHERE NOT succeeded;
CREATE INDEX admin_login_attempts_at ON admin_login_attempts (at);

-- Admin API tokens for automation: `lat_<token_id>_<secret>`; the id is the prefix shown in
-- lists, only the SHA-256 of the whole token is kept. A token acts as its admin.
CREATE TABLE admin_tokens (
    token_id        text PRIMARY KEY CHECK (token_id ~ '^[a-f0-9]{8,32}$'),
    token_sha256    bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    admin_id        bigint NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX admin_tokens_admin ON admin_tokens (admin_id);

-- Every change made through the admin side (console, admin API, CLI): who, when, which object,
-- its state before and after (never a secret). Append-only like the ledger's journal.
CREATE TABLE audit_log (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    object_type     text NOT NULL,
    object_id       text NOT NULL,
    -- No foreign key: the log outlives whatever it names.
    programme_id    text,
    before          jsonb,
    after           jsonb
);
CREATE INDEX audit_log_programme ON audit_log (programme_id, audit_id);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, audit_id);

-- Every configuration snapshot a programme has had, and where it came from: a programme file
-- (its name), the console, the admin API; `migration` for the snapshot stored before this table.
-- What the console shows as the programme's provenance and the diff of the last loaded file.
CREATE TABLE programme_versions (
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    version         integer NOT NULL CHECK (version >= 1),
    config          jsonb NOT NULL,
    source          text NOT NULL CHECK (source IN ('file', 'console', 'api', 'migration')),
    source_file     text,
    actor           text NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, version)
);

INSERT INTO programme_versions (programme_id, version, config, source, actor, stored_at)
SELECT programme_id, config_version, config, 'migration', 'migration', updated_at FROM programmes;

CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'raise_exception', HINT = 'history is never rewritten';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER programme_versions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON programme_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- When a partner's key was last used, to the minute: the gateway batches these writes
-- (gateway.key_usage), never on a request's path.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
