-- depends: 0001_config
-- Issue 15: dead letters in the console. The console process follows `dead-letters.v1` into this
-- table (gateway.admin.service.dead_letter_feed), so a person can list them, see what each held,
-- and replay (publish the original bytes to their source topic again) or discard each one. Kafka
-- stays the record of what was dead-lettered; this is the console's working copy, with a status.
--
-- A letter is keyed by where it sits on the dead-letter topic, so a record read twice (a restart
-- between the insert and the offset, two consoles following at once) is stored once; the
-- follower's position is stored in the same transaction as the letters it read.
CREATE TABLE dead_letters (
    dead_letter_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    letter_topic        text NOT NULL,
    letter_partition    integer NOT NULL CHECK (letter_partition >= 0),
    letter_offset       bigint NOT NULL CHECK (letter_offset >= 0),
    letter_at           timestamptz,
    reason              text NOT NULL,
    error               text NOT NULL,
    producer            text NOT NULL,
    source_topic        text NOT NULL,
    source_partition    integer NOT NULL,
    source_offset       bigint NOT NULL,
    source_at           timestamptz,
    original_key        bytea,
    original_value      bytea,
    -- The programme the original names (its key `programme_id:user_id`, or its JSON's
    -- `programme_id`); NULL when it names none. No foreign key: a letter may name any text.
    programme_id        text,
    status              text NOT NULL DEFAULT 'new'
                        CHECK (status IN ('new', 'replayed', 'discarded')),
    handled_at          timestamptz,
    handled_by          text,
    -- Where the replayed copy went on the source topic: the letter it becomes, if it fails
    -- again, names that position as its source.
    replayed_partition  integer,
    replayed_offset     bigint,
    received_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (letter_topic, letter_partition, letter_offset),
    CHECK ((status = 'new') = (handled_at IS NULL AND handled_by IS NULL)),
    CHECK ((status = 'replayed') = (replayed_offset IS NOT NULL AND replayed_partition IS NOT NULL))
);
CREATE INDEX dead_letters_listing ON dead_letters (status, dead_letter_id);
CREATE INDEX dead_letters_programme ON dead_letters (programme_id, dead_letter_id);
CREATE INDEX dead_letters_source ON dead_letters (source_topic, source_partition, source_offset);
CREATE INDEX dead_letters_replayed ON dead_letters (source_topic, replayed_partition, replayed_offset)
    WHERE status = 'replayed';

-- The follower's position in each partition of the dead-letter topic (the next offset to read).
CREATE TABLE dead_letter_offsets (
    topic       text NOT NULL,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);
