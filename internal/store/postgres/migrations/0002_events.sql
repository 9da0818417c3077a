-- The transactional outbox: an event is written in the transaction of the
-- change it reports, with one delivery row per destination; the dispatcher
-- deletes a delivery once it has arrived.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT   NOT NULL,
    meeting_id TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    type       TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_meeting ON events (meeting_id, seq);

-- Deliveries of one destination and meeting go out in event order: only the
-- oldest live one of a group is ever attempted.
CREATE TABLE deliveries (
    event_seq       BIGINT   NOT NULL,
    destination     TEXT     NOT NULL,
    meeting_id      TEXT     NOT NULL,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT   NOT NULL,
    last_error      TEXT     NOT NULL DEFAULT '',
    dead            SMALLINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event_seq, destination)
);
CREATE INDEX deliveries_group ON deliveries (destination, meeting_id, event_seq) WHERE dead = 0;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE dead = 0;
CREATE INDEX deliveries_dead ON deliveries (event_seq) WHERE dead = 1;
