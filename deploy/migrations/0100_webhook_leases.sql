-- depends: 0020_webhooks 0060_outcome_reasons
-- Webhooks are sent by their own process (`loyalty-webhooks`), which claims due deliveries with a
-- lease instead of holding a transaction open while it posts them (issue 14). A claim is one short
-- statement that stamps the rows with when the lease ends and who holds it; the posts then run
-- with no transaction open, and each result is recorded by an update guarded by that claim. A
-- dispatcher that dies mid-send leaves rows whose lease runs out, and another one takes them
-- (deliveries are at least once: receivers deduplicate on `Loyalty-Webhook-Id`).

ALTER TABLE webhook_deliveries
    -- NULL when nobody holds the row; a lease in the past is free to take.
    ADD COLUMN claimed_until timestamptz,
    -- Which dispatcher holds it (host/pid/instance), for diagnosis and to guard its result.
    ADD COLUMN claimed_by text,
    ADD CONSTRAINT webhook_deliveries_claim_whole
        CHECK ((claimed_until IS NULL) = (claimed_by IS NULL));
