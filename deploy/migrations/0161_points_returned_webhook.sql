-- depends: 0160_returns 0150_pending_points 0120_points_expiry
-- Issue 16: the `points.returned` webhook, one per return that counts (a row of ledger.returns),
-- queued in the return's own transaction beside the outcome's `points.deducted`: the original
-- event, the amount returned, the points taken back and the shortfall. Its delivery is keyed
-- `<command_id>:returned`, since the outcome's own delivery holds the command id.
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_event_types_check;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_event_types_check CHECK (
    cardinality(event_types) > 0
    AND event_types <@ ARRAY['points.awarded', 'points.deducted', 'event.rejected',
                             'points.expiring', 'points.expired', 'points.available',
                             'points.returned']);

CREATE FUNCTION ledger.enqueue_returned_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
    SELECT s.subscription_id, n.command_id || ':returned', 'points.returned',
           jsonb_build_object(
               'type', 'points.returned',
               'programme_id', n.programme_id,
               'user_id', n.user_id,
               'event_id', n.command_id,
               'original_event_id', n.original_event_id,
               'amount', n.amount,
               'points', n.points,
               'shortfall', n.shortfall,
               'balance', o.balance_after,
               'recorded_at', n.recorded_at)
    FROM new_returns AS n
    JOIN ledger.command_outcomes AS o ON o.command_id = n.command_id
    JOIN webhook_subscriptions AS s
      ON s.programme_id = n.programme_id AND s.active AND 'points.returned' = ANY (s.event_types)
    ON CONFLICT (subscription_id, command_id) DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER returns_webhooks
    AFTER INSERT ON ledger.returns
    REFERENCING NEW TABLE AS new_returns
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.enqueue_returned_webhooks();
