-- 0003 drops the index of a meeting's events, which nothing reads, only
-- since it was amended after it first shipped: databases that applied it
-- before still have the index, and every event written pays for it.
DROP INDEX IF EXISTS events_meeting;
