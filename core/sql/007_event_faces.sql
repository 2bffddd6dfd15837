-- 007: a recognition's face, kept for a while (events.face_ttl) so that a
-- person at the desk can add it to a person — POST /v1/persons/{id}/faces
-- ?event_id= — without the photo being sent again (by default only the faces
-- the server did not name: events.keep_faces). Written with its event,
-- in the same statement; taken (deleted) when it is added to a person; gone
-- with its event (a person's erasure takes their events) and, once expired,
-- deleted by the server.
CREATE TABLE dv_event_faces (
    event_id    bigint PRIMARY KEY REFERENCES dv_events(id) ON DELETE CASCADE,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    embedding   bytea NOT NULL,              -- dim float32, little-endian
    dim         integer NOT NULL,
    model       text NOT NULL,
    fingerprint text NOT NULL,
    landmarks   jsonb,
    found_by    text,
    quality     real,
    chip        bytea,                       -- aligned face chip (JPEG)
    expires_at  timestamptz NOT NULL
);
CREATE INDEX dv_event_faces_expiry ON dv_event_faces (expires_at);
-- a JPEG does not compress: stored out of line as it is, without trying
ALTER TABLE dv_event_faces ALTER COLUMN chip SET STORAGE EXTERNAL;
