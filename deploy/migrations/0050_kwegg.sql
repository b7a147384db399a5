-- depends: 0001_config
-- Kwegg API (seed 003). A tenant is a partner of a programme and its License-Key is that
-- partner's API key (api_keys), so nothing here stores tenant credentials.
--
-- Access tokens: a tenant logs a user in and gets a random token; only its SHA-256 is kept, as
-- for API keys. A token is bound to (programme, user), remembers the tenant (partner) and the
-- platform that asked for it, and stops working at `expires_at` (24 h by default,
-- LOYALTY_KWEGG_TOKEN_TTL_S). Logging in deletes the user's expired tokens and keeps at most a
-- fixed number of live ones (gateway/kwegg/tokens.py), so the table stays bounded.
CREATE TABLE kwegg_access_tokens (
    token_sha256    bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    partner_id      text NOT NULL,
    user_id         text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    platform        text CHECK (length(platform) <= 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX kwegg_access_tokens_user ON kwegg_access_tokens (programme_id, user_id, expires_at);

-- Offers a programme's users can redeem their points for. Redeeming books a Debit of variety
-- Redemption of `points` through the ledger; only `active` offers inside their window can be
-- redeemed, every offer is listed with its status.
CREATE TABLE kwegg_offers (
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    offer_id        text NOT NULL CHECK (offer_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    points          bigint NOT NULL CHECK (points > 0 AND points <= 1000000000000),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    valid_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, offer_id)
);
CREATE INDEX kwegg_offers_listing ON kwegg_offers (programme_id, created_at, offer_id);
