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
-- No index on event_seq: a head that moves is then updated in place (a HOT
-- update, which adds no index entries), where an indexed one made each move
-- of a pass over one group cost four times as much. A poll reads every head
-- (one row per group with deliveries pending) and sorts the due ones.

-- Nothing looks deliveries up by their due time any more, nor a meeting's
-- events by number (cursors pick a meeting's events out of all of them).
DROP INDEX deliveries_due;
DROP INDEX events_meeting;

-- No delivery may change from here to the commit, so that none written
-- between the filling of the heads and the triggers' creation is missed:
-- appends wait. (The mode CREATE TRIGGER needs anyway.)
LOCK TABLE deliveries IN SHARE ROW EXCLUSIVE MODE;
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

-- A delivery that arrived, failed, died or came back moves its group's head,
-- in steps that read no more than the next live delivery (a pass that
-- confirms many of one group's deliveries in one transaction would otherwise
-- walk the ones it already removed, each time). The head's row is locked
-- first: moves of one group take turns, and an append to the group has
-- either committed (the statements below, each with a snapshot of its own,
-- see its deliveries) or waits for this transaction and then keeps the older
-- of the two heads.
CREATE FUNCTION delivery_heads_move() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d deliveries%ROWTYPE;
    head BIGINT;
    next_seq BIGINT;
    next_due BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        d := OLD;
    ELSE
        d := NEW;
    END IF;
    SELECT event_seq INTO head FROM delivery_heads
    WHERE destination = d.destination AND meeting_id = d.meeting_id FOR UPDATE;
    IF TG_OP = 'UPDATE' AND OLD.dead <> 0 AND NEW.dead = 0 THEN
        -- Back in line: it heads its group if it is the oldest.
        INSERT INTO delivery_heads (destination, meeting_id, event_seq, due_at)
        VALUES (d.destination, d.meeting_id, d.event_seq, d.next_attempt_at)
        ON CONFLICT (destination, meeting_id) DO UPDATE
            SET event_seq = excluded.event_seq, due_at = excluded.due_at
            WHERE excluded.event_seq < delivery_heads.event_seq;
        RETURN NULL;
    END IF;
    IF head IS DISTINCT FROM d.event_seq THEN
        RETURN NULL; -- not the head: the head stays
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.dead = 0 THEN
        -- A failed attempt: the head stays, due after its back-off.
        UPDATE delivery_heads SET due_at = NEW.next_attempt_at
        WHERE destination = d.destination AND meeting_id = d.meeting_id;
        RETURN NULL;
    END IF;
    -- The head arrived or died: the next live delivery heads the group.
    SELECT event_seq, next_attempt_at INTO next_seq, next_due FROM deliveries
    WHERE dead = 0 AND destination = d.destination AND meeting_id = d.meeting_id AND event_seq > d.event_seq
    ORDER BY event_seq LIMIT 1;
    IF FOUND THEN
        UPDATE delivery_heads SET event_seq = next_seq, due_at = next_due
        WHERE destination = d.destination AND meeting_id = d.meeting_id;
    ELSE
        DELETE FROM delivery_heads WHERE destination = d.destination AND meeting_id = d.meeting_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER delivery_heads_delete AFTER DELETE ON deliveries
    FOR EACH ROW WHEN (OLD.dead = 0) EXECUTE FUNCTION delivery_heads_move();
CREATE TRIGGER delivery_heads_update AFTER UPDATE OF dead, next_attempt_at ON deliveries
    FOR EACH ROW EXECUTE FUNCTION delivery_heads_move();
