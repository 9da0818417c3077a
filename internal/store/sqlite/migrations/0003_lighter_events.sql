-- Every change writes an event, so each index on events costs every write.
-- The live stream filters a short tail of recent events by meeting, which
-- needs no index of its own.
DROP INDEX events_meeting;
