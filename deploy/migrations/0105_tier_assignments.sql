-- depends: 0002_ledger
-- Issue 15: the console shows a user's tier. The processors hold it in their own state; what the
-- database keeps is each decision, and the decision of a `tier.assigned` record is stored with an
-- explanation naming the new tier and the reason code `tier_assigned`. A partial index holds only
-- those outcomes (a handful per user among all of their decisions), so the user's latest
-- assignment is one index probe, and the writer's other outcomes add no index entry.
CREATE INDEX command_outcomes_tier_assigned
    ON ledger.command_outcomes (programme_id, user_id, recorded_at DESC)
    WHERE (explanation ->> 'reason_code') = 'tier_assigned';
