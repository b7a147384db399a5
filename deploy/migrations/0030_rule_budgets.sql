-- depends: 0002_ledger

-- Rule budgets ("cap max", `budget_max` of a rule in the programme's snapshot): the points a rule
-- may award over all users. The processors enforce it per worker (processors/budgets.py); the
-- ledger writer enforces it exactly, whatever the number of workers or writers, because every
-- batch that books an award of a budgeted rule locks that rule's row here (FOR UPDATE, in
-- (programme_id, rule_id) order, after the accounts), refuses an award that would take
-- `used_points` past the budget (`rule_budget_exhausted`) and writes the new usage in the same
-- transaction as the entries. A reversal of a counted award gives its points back.
--
-- Rows exist only for rules that have (or had) a budget: a batch without a budgeted rule never
-- reads or writes this table. A rule's usage counts the awards booked while it has a budget, as
-- the processors count them; the rows below start the rules budgeted when this migration runs
-- from what the journal holds for them.
CREATE TABLE ledger.rule_budget_usage (
    programme_id    text NOT NULL REFERENCES programmes (programme_id),
    rule_id         text NOT NULL,
    used_points     bigint NOT NULL DEFAULT 0 CHECK (used_points >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_id, rule_id)
) WITH (fillfactor = 70);  -- rewritten by every batch that uses the rule: keep updates HOT

INSERT INTO ledger.rule_budget_usage (programme_id, rule_id, used_points)
SELECT budgeted.programme_id, budgeted.rule_id,
       greatest(0, coalesce(sum(e.points - coalesce(r.reversed, 0)), 0))
FROM (SELECT p.programme_id, rule ->> 'rule_id' AS rule_id
      FROM programmes p
      CROSS JOIN LATERAL jsonb_array_elements(
          CASE WHEN jsonb_typeof(p.config -> 'rules') = 'array' THEN p.config -> 'rules'
               ELSE '[]'::jsonb END) AS rule
      WHERE jsonb_typeof(rule -> 'budget_max') = 'number'
        AND jsonb_typeof(rule -> 'rule_id') = 'string') AS budgeted
LEFT JOIN ledger.entries e
       ON e.programme_id = budgeted.programme_id AND e.rule_id = budgeted.rule_id
      AND e.variety = 'Programme Points' AND e.transaction_type = 'Credit'
      AND e.reverses_entry_id IS NULL
LEFT JOIN LATERAL (SELECT sum(x.points) AS reversed FROM ledger.entries x
                   WHERE x.reverses_entry_id = e.entry_id) AS r ON true
GROUP BY budgeted.programme_id, budgeted.rule_id;
