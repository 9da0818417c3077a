-- The head of each delivery group (destination and meeting): its oldest live
-- delivery, the only one the dispatcher may attempt, and when that is due.
-- Finding the due groups then reads one row per group instead of walking
-- every pending delivery, which a receiver that is down (its deliveries
-- waiting out a back-off, the rest of its groups behind them) makes many.
-- Triggers keep it, beside the statements that change deliveries, as they
-- do on PostgreSQL (where replicas of an older version may write them too).
CREATE TABLE delivery_heads (
    destination TEXT    NOT NULL,
    meeting_id  TEXT    NOT NULL,
    event_seq   INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    PRIMARY KEY (destination, meeting_id)
) WITHOUT ROWID;
CREATE INDEX delivery_heads_order ON delivery_heads (event_seq);
-- Nothing looks deliveries up by their due time any more.
DROP INDEX deliveries_due;

INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
SELECT d.destination, d.meeting_id, d.event_seq, d.next_attempt_at FROM deliveries d
WHERE d.dead = 0 AND NOT EXISTS (
    SELECT 1 FROM deliveries p WHERE p.dead = 0 AND p.destination = d.destination
        AND p.meeting_id = d.meeting_id AND p.event_seq < d.event_seq);

-- A new live delivery heads its group unless an older one does.
CREATE TRIGGER delivery_heads_insert AFTER INSERT ON deliveries WHEN NEW.dead = 0
BEGIN
    INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
    VALUES (NEW.destination, NEW.meeting_id, NEW.event_seq, NEW.next_attempt_at)
    ON CONFLICT (destination, meeting_id) DO UPDATE
        SET event_seq = excluded.event_seq, due_at = excluded.due_at
        WHERE excluded.event_seq < delivery_heads.event_seq;
END;

-- A delivery that arrived, failed, died or came back moves its group's head:
-- the group's oldest live delivery, or none. (SQLite removes a deleted row's
-- index entries at once, so finding the oldest is one step of the index.)
CREATE TRIGGER delivery_heads_delete AFTER DELETE ON deliveries WHEN OLD.dead = 0
BEGIN
    DELETE FROM delivery_heads WHERE destination = OLD.destination AND meeting_id = OLD.meeting_id;
    INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
    SELECT destination, meeting_id, event_seq, next_attempt_at FROM deliveries
    WHERE dead = 0 AND destination = OLD.destination AND meeting_id = OLD.meeting_id
    ORDER BY event_seq LIMIT 1;
END;

CREATE TRIGGER delivery_heads_update AFTER UPDATE OF dead, next_attempt_at ON deliveries
WHEN OLD.dead <> NEW.dead OR OLD.next_attempt_at <> NEW.next_attempt_at
BEGIN
    DELETE FROM delivery_heads WHERE destination = NEW.destination AND meeting_id = NEW.meeting_id;
    INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
    SELECT destination, meeting_id, event_seq, next_attempt_at FROM deliveries
    WHERE dead = 0 AND destination = NEW.destination AND meeting_id = NEW.meeting_id
    ORDER BY event_seq LIMIT 1;
END;
