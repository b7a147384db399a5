-- depends: 0180_shadow_runs
-- Issue 17: the console's list of shadow runs shows each run's points (live and candidate) and
-- users affected. Summing a run's decisions for every run listed would read up to
-- LOYALTY_SHADOW_DECISIONS_MAX rows per run on each page view, so the sums are kept as the
-- decisions are stored (evidence.shadow.store.save, in the same transaction): per user of a run
-- (its net points under both arms), and on the run (the totals, and how many of its users'
-- candidate points differ from their live ones).

CREATE TABLE shadow_user_points (
    run_id          bigint NOT NULL REFERENCES shadow_runs (run_id),
    user_id         text NOT NULL,
    -- Net points of the user's shadowed events: the candidate's, and as decided live.
    points          bigint NOT NULL,
    live_points     bigint NOT NULL,
    PRIMARY KEY (run_id, user_id)
);

ALTER TABLE shadow_runs
    ADD COLUMN points bigint NOT NULL DEFAULT 0,
    ADD COLUMN live_points bigint NOT NULL DEFAULT 0,
    ADD COLUMN users_affected bigint NOT NULL DEFAULT 0 CHECK (users_affected >= 0);

-- The runs' decisions stored before this migration.
INSERT INTO shadow_user_points (run_id, user_id, points, live_points)
SELECT run_id, user_id, sum(points), sum(live_points)
FROM shadow_decisions
GROUP BY run_id, user_id;

UPDATE shadow_runs AS run
SET points = summed.points, live_points = summed.live_points, users_affected = summed.affected
FROM (
    SELECT run_id, sum(points) AS points, sum(live_points) AS live_points,
           count(*) FILTER (WHERE points <> live_points) AS affected
    FROM shadow_user_points
    GROUP BY run_id
) AS summed
WHERE run.run_id = summed.run_id;
