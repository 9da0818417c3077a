-- Attendee IDs are time-ordered (UUIDv7), so an index on the ID alone grows
-- at its right edge and a commit dirties one of its pages whatever the
-- meetings. Keyed by meeting first, every attendee added lands on a page of
-- its own meeting: one page more to write per attendee when many meetings
-- fill at once. Lookups name both columns and the ID alone is unique.
DROP INDEX attendees_id;
CREATE UNIQUE INDEX attendees_by_id ON attendees (id);
