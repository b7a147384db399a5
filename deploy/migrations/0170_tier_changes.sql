-- depends: 0105_tier_assignments 0120_points_expiry 0161_points_returned_webhook
-- Issue 16, tiers from points. The processors decide a user's tier (in their keyed state) and
-- say what a decision did to it in the explanation's `tier_change`
-- ({"from", "to", "reason", "review_on"}: processors.engine.tiering.TierChange). A statement
-- trigger on the ledger's outcomes turns those into rows here, in the booking's transaction,
-- as the webhooks' trigger does: the writer's statements do not change, and an outcome and its
-- tier change commit or vanish together. A duplicate outcome records nothing new.

-- Every change of a user's tier, with its reason: threshold_crossed, downgrade_policy, manual.
CREATE TABLE ledger.tier_changes (
    command_id      text PRIMARY KEY,
    programme_id    text NOT NULL,
    user_id         text NOT NULL,
    from_tier       text NOT NULL,
    to_tier         text NOT NULL,
    reason          text NOT NULL,
    review_on       date,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tier_changes_user ON ledger.tier_changes (programme_id, user_id, recorded_at DESC);

-- Each user's tier as last decided and the local day it is due for review (NULL: never). The
-- scheduler reads the users due on a day from here (`tier.review` records); the processors
-- check again in their own state: a row that lags them costs one review, which changes nothing
-- but restates the review day (`not_due`), so the row catches up.
CREATE TABLE ledger.user_tiers (
    programme_id    text NOT NULL,
    user_id         text NOT NULL,
    tier            text NOT NULL,
    reason          text NOT NULL,
    review_on       date,
    command_id      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, user_id)
);
CREATE INDEX user_tiers_due ON ledger.user_tiers (programme_id, review_on, user_id)
    WHERE review_on IS NOT NULL;

-- The assignments decided before this migration (issue 15's `tier_assigned` outcomes).
INSERT INTO ledger.tier_changes (command_id, programme_id, user_id, from_tier, to_tier, reason,
                                 recorded_at)
SELECT command_id, programme_id, user_id, '', explanation ->> 'tier', 'manual', recorded_at
FROM ledger.command_outcomes
WHERE (explanation ->> 'reason_code') = 'tier_assigned' AND status = 'booked'
  AND user_id IS NOT NULL AND explanation ->> 'tier' IS NOT NULL;
INSERT INTO ledger.user_tiers (programme_id, user_id, tier, reason, command_id, updated_at)
SELECT DISTINCT ON (programme_id, user_id) programme_id, user_id, to_tier, reason, command_id,
       recorded_at
FROM ledger.tier_changes
ORDER BY programme_id, user_id, recorded_at DESC, command_id DESC;

ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_event_types_check;
ALTER TABLE webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_event_types_check CHECK (
    cardinality(event_types) > 0
    AND event_types <@ ARRAY['points.awarded', 'points.deducted', 'event.rejected',
                             'points.expiring', 'points.expired', 'points.available',
                             'points.returned', 'tier.changed']);

CREATE FUNCTION ledger.record_tier_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most batches change no tier: one pass over the batch's outcomes finds that out.
    IF NOT EXISTS (
        SELECT 1 FROM new_outcomes
        WHERE explanation ? 'tier_change' OR explanation ->> 'reason_code' = 'tier_assigned'
    ) THEN
        RETURN NULL;
    END IF;
    WITH changed AS (
        -- An assignment decided by processors older than `tier_change` (a rolling deploy)
        -- names only its tier: recorded as set by hand, without a review day.
        SELECT n.command_id, n.programme_id, n.user_id,
               coalesce(n.explanation -> 'tier_change',
                        jsonb_build_object('from', '', 'to', n.explanation ->> 'tier',
                                           'reason', 'manual', 'review_on', NULL)) AS change,
               n.source_offset, n.recorded_at
        FROM new_outcomes AS n
        -- A rejected outcome too: the processors' state, which holds the tier, has it.
        WHERE n.status <> 'duplicate' AND n.user_id IS NOT NULL
          AND (n.explanation ? 'tier_change'
               OR (n.explanation ->> 'reason_code' = 'tier_assigned'
                   AND n.explanation ->> 'tier' IS NOT NULL))
    ), recorded AS (
        INSERT INTO ledger.tier_changes (command_id, programme_id, user_id, from_tier, to_tier,
                                         reason, review_on, recorded_at)
        SELECT command_id, programme_id, user_id, change ->> 'from', change ->> 'to',
               change ->> 'reason', (change ->> 'review_on')::date, recorded_at
        FROM changed
        WHERE change ->> 'from' IS DISTINCT FROM change ->> 'to'
        ON CONFLICT (command_id) DO NOTHING
        RETURNING command_id, programme_id, user_id, from_tier, to_tier, reason, review_on,
                  recorded_at
    ), current AS (
        -- A user's outcomes in one batch come from one partition, in offset order: the last
        -- one wins.
        INSERT INTO ledger.user_tiers (programme_id, user_id, tier, reason, review_on,
                                       command_id)
        SELECT DISTINCT ON (programme_id, user_id) programme_id, user_id, change ->> 'to',
               change ->> 'reason', (change ->> 'review_on')::date, command_id
        FROM changed
        ORDER BY programme_id, user_id, source_offset DESC NULLS LAST, command_id DESC
        -- The reason and command of the last change of tier: a review that kept the tier
        -- (renewed, grace, not_due) moves only the review day.
        ON CONFLICT (programme_id, user_id) DO UPDATE
            SET tier = excluded.tier, review_on = excluded.review_on, updated_at = now(),
                reason = CASE WHEN excluded.tier = user_tiers.tier THEN user_tiers.reason
                              ELSE excluded.reason END,
                command_id = CASE WHEN excluded.tier = user_tiers.tier THEN user_tiers.command_id
                                  ELSE excluded.command_id END
    )
    INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
    SELECT s.subscription_id, 'tier:' || r.command_id, 'tier.changed',
           jsonb_build_object(
               'type', 'tier.changed',
               'programme_id', r.programme_id,
               'user_id', r.user_id,
               'event_id', r.command_id,
               'from_tier', r.from_tier,
               'tier', r.to_tier,
               'reason', r.reason,
               'review_on', r.review_on,
               'recorded_at', r.recorded_at)
    FROM recorded AS r
    JOIN webhook_subscriptions AS s
      ON s.programme_id = r.programme_id AND s.active AND 'tier.changed' = ANY (s.event_types)
    ON CONFLICT (subscription_id, command_id) DO NOTHING;
    IF FOUND THEN
        PERFORM pg_notify('webhook_deliveries', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER command_outcomes_tier_changes
    AFTER INSERT ON ledger.command_outcomes
    REFERENCING NEW TABLE AS new_outcomes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.record_tier_changes();
