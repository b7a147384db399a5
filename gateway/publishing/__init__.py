"""The path every vendor API shares: publish an event (or a ledger command) to Kafka and answer
with its outcome, or with `pending` past the deadline (`answering`); the producer
(`publisher`); the outcome notifications every instance listens to (`outcomes`); the answers'
models (`answers`); a partner's publishing rights (`partner_events`)."""
