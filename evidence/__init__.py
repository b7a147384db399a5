"""History as evidence (issue 17): replaying the archive of decided events
(ledger.decided_events) through current and candidate rules. `backtest` reports what a candidate
would have given over a programme's history; the replay itself (`replay`) and the report
(`report`) are pure."""
