CREATE TABLE meetings (
    id                   TEXT    NOT NULL PRIMARY KEY,
    account_id           TEXT    NOT NULL,
    api_region           TEXT    NOT NULL,
    client_request_token TEXT    NOT NULL,
    params_hash          TEXT    NOT NULL,
    external_meeting_id  TEXT    NOT NULL,
    meeting_host_id      TEXT    NOT NULL DEFAULT '',
    media_region         TEXT    NOT NULL,
    primary_meeting_id   TEXT    NOT NULL DEFAULT '',
    max_attendees        INTEGER NOT NULL,
    attendee_count       INTEGER NOT NULL DEFAULT 0,
    details              TEXT    NOT NULL,
    transcription        TEXT,
    created_at           BIGINT  NOT NULL,
    last_active_at       BIGINT  NOT NULL,
    ended_at             BIGINT,
    end_reason           TEXT    NOT NULL DEFAULT '',
    -- The ceiling holds even if a bug bypassed the domain's check.
    CHECK (attendee_count >= 0 AND attendee_count <= max_attendees)
);
-- One active meeting per ClientRequestToken and account; an ended meeting frees its token.
CREATE UNIQUE INDEX meetings_token ON meetings (account_id, client_request_token) WHERE ended_at IS NULL;
CREATE INDEX meetings_replicas ON meetings (primary_meeting_id) WHERE ended_at IS NULL AND primary_meeting_id <> '';
CREATE INDEX meetings_created ON meetings (created_at) WHERE ended_at IS NULL;
CREATE INDEX meetings_idle ON meetings (last_active_at) WHERE ended_at IS NULL;
CREATE INDEX meetings_ended ON meetings (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX meetings_account ON meetings (account_id, created_at) WHERE ended_at IS NULL;

-- seq comes from a sequence, so it is never reused: a NextToken that points
-- past a deleted attendee stays correct.
CREATE TABLE attendees (
    seq              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT    NOT NULL,
    meeting_id       TEXT    NOT NULL,
    account_id       TEXT    NOT NULL,
    external_user_id TEXT    NOT NULL,
    audio            TEXT    NOT NULL,
    video            TEXT    NOT NULL,
    content          TEXT    NOT NULL,
    token_key_id     BIGINT  NOT NULL,
    token_salt       BYTEA   NOT NULL,
    created_at       BIGINT  NOT NULL
);
CREATE UNIQUE INDEX attendees_id ON attendees (meeting_id, id);
CREATE UNIQUE INDEX attendees_external ON attendees (meeting_id, external_user_id);
CREATE INDEX attendees_list ON attendees (meeting_id, seq);

CREATE TABLE tags (
    meeting_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (meeting_id, key)
);
