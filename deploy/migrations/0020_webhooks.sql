-- depends: 0001_config 0002_ledger
-- Webhooks (mgPass "notifications when points-related events occur"), as a transactional outbox:
-- a statement trigger on the ledger's outcomes writes one delivery per subscribed programme in the
-- ledger's own transaction, so a booked outcome and its notification commit or vanish together,
-- and the ledger writer's statements do not change. Dispatchers (in the gateway) claim due
-- deliveries with FOR UPDATE SKIP LOCKED, so several instances never send one twice at once.

CREATE TABLE webhook_subscriptions (
    subscription_id text PRIMARY KEY CHECK (subscription_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    url             text NOT NULL CHECK (url ~ '^https?://'),
    -- HMAC-SHA256 key of the signature header; the receiver holds the same secret.
    secret          text NOT NULL CHECK (length(secret) >= 32),
    event_types     text[] NOT NULL CHECK (
        cardinality(event_types) > 0
        AND event_types <@ ARRAY['points.awarded', 'points.deducted', 'event.rejected']),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_programme ON webhook_subscriptions (programme_id) WHERE active;

CREATE TABLE webhook_deliveries (
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES webhook_subscriptions (subscription_id),
    command_id      text NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_http_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (subscription_id, command_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE FUNCTION ledger.enqueue_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
    SELECT s.subscription_id, n.command_id, k.event_type,
           jsonb_build_object(
               'type', k.event_type,
               'programme_id', n.programme_id,
               'user_id', n.user_id,
               'event_id', coalesce(n.source_event_id, n.command_id),
               'points', abs(n.points),
               'balance', n.balance_after,
               'reason_code', n.reason_code,
               'reason', n.reason_message,
               'recorded_at', n.recorded_at)
    FROM new_outcomes AS n
    -- A duplicate re-announces bookings notified when they were first booked: nothing new.
    CROSS JOIN LATERAL (SELECT CASE
        WHEN n.status = 'duplicate' THEN NULL
        WHEN n.status = 'rejected' THEN 'event.rejected'
        WHEN n.points > 0 THEN 'points.awarded'
        WHEN n.points < 0 THEN 'points.deducted'
    END AS event_type) AS k
    JOIN webhook_subscriptions AS s
      ON s.programme_id = n.programme_id AND s.active AND k.event_type = ANY (s.event_types)
    WHERE n.user_id IS NOT NULL
    ON CONFLICT (subscription_id, command_id) DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER command_outcomes_webhooks
    AFTER INSERT ON ledger.command_outcomes
    REFERENCING NEW TABLE AS new_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.enqueue_webhooks();
