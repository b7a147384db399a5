"""API-triggered earning and redemption rules (seed 001): an authorised client (client id and
secret) triggers one rule by its id."""
