-- The head of each delivery group (destination and meeting): its oldest live
-- delivery, the only one the dispatcher may attempt, and when that is due.
-- Finding the due groups then reads one row per group instead of walking
-- every pending delivery, which a receiver that is down (its deliveries
-- waiting out a back-off, the rest of its groups behind them) makes many.
-- Triggers keep it, so that it holds whatever replica, of whatever version,
-- writes the deliveries.
CREATE TABLE delivery_heads (
    destination TEXT   NOT NULL,
    meeting_id  TEXT   NOT NULL,
    event_seq   BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    PRIMARY KEY (destination, meeting_id)
);
CREATE INDEX delivery_heads_order ON delivery_heads (event_seq);

-- No delivery may change while the heads are filled in; appends wait.
LOCK TABLE deliveries IN SHARE MODE;
INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
SELECT DISTINCT ON (destination, meeting_id) destination, meeting_id, event_seq, next_attempt_at
FROM deliveries WHERE dead = 0 ORDER BY destination, meeting_id, event_seq;

-- New live deliveries head their groups unless older ones do: one statement
-- for all the rows of an INSERT. Taking the head's row lock (ON CONFLICT
-- DO UPDATE locks the row even when its WHERE fails) orders this
-- transaction with a concurrent move of the head (below).
CREATE FUNCTION delivery_heads_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
    SELECT DISTINCT ON (destination, meeting_id) destination, meeting_id, event_seq, next_attempt_at
    FROM new_deliveries WHERE dead = 0 ORDER BY destination, meeting_id, event_seq
    ON CONFLICT (destination, meeting_id) DO UPDATE
        SET event_seq = excluded.event_seq, due_at = excluded.due_at
        WHERE excluded.event_seq < delivery_heads.event_seq;
    RETURN NULL;
END $$;
CREATE TRIGGER delivery_heads_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION delivery_heads_insert();

-- A delivery that arrived, failed, died or came back moves its group's head:
-- the group's oldest live delivery, or none. Deleting the head's row waits
-- for a transaction adding to the group that locked it, so that the next
-- statement (at READ COMMITTED, a new snapshot) sees what it added; one that
-- comes later waits for this one and keeps the older of the two heads.
CREATE FUNCTION delivery_heads_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g deliveries%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        g := OLD;
        IF OLD.dead <> 0 THEN
            RETURN NULL;
        END IF;
    ELSE
        g := NEW;
    END IF;
    DELETE FROM delivery_heads WHERE destination = g.destination AND meeting_id = g.meeting_id;
    INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
    SELECT destination, meeting_id, event_seq, next_attempt_at FROM deliveries
    WHERE dead = 0 AND destination = g.destination AND meeting_id = g.meeting_id
    ORDER BY event_seq LIMIT 1
    ON CONFLICT (destination, meeting_id) DO UPDATE
        SET event_seq = excluded.event_seq, due_at = excluded.due_at
        WHERE excluded.event_seq < delivery_heads.event_seq;
    RETURN NULL;
END $$;
CREATE TRIGGER delivery_heads_delete AFTER DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION delivery_heads_move();
CREATE TRIGGER delivery_heads_update AFTER UPDATE OF dead, next_attempt_at ON deliveries
    FOR EACH ROW EXECUTE FUNCTION delivery_heads_move();
