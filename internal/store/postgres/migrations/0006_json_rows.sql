-- The rows of a bulk statement's JSON parameter (sqlstore's JSONRows).
-- jsonb_array_elements tells the planner to expect 100 of them, which
-- makes it read a whole table of a few thousand rows (meetings, tags)
-- rather than look up the few it is given through their key: a lock of
-- the meetings of an attendee addition read every meeting. This function
-- says 4; STRICT keeps the planner from inlining it, which would bring
-- the 100 back.
CREATE FUNCTION carillon_json_rows(jsonb) RETURNS SETOF jsonb
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 4
    AS 'SELECT value FROM jsonb_array_elements($1)';
