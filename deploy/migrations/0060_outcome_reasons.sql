-- depends: 0002_ledger 0020_webhooks
-- Issue 13: a reused idempotency key with another payload is recognised, and every answer and
-- webhook says why an event earned nothing or less than its rule's amount.

-- The source event's payload fingerprint (events.v1 `payload_fingerprint`), stored with the
-- outcome so the gateway can tell a retry (same payload) from a reused reference (409).
ALTER TABLE ledger.command_outcomes
    ADD COLUMN source_fingerprint text CHECK (source_fingerprint ~ '^[0-9a-f]{32}$');

-- Webhooks carry the engine's reason code and reason (in the stored explanation) when the
-- ledger itself gave none: a cap, a frequency limit, a missing parameter, no matching rule.
CREATE OR REPLACE FUNCTION ledger.enqueue_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
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
               'reason_code', coalesce(n.reason_code, n.explanation ->> 'reason_code'),
               'reason', coalesce(n.reason_message, n.explanation ->> 'reason'),
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
