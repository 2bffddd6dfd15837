-- 002: the recognition service. Embeddings become float32 bytes (fast to
-- load into the matcher), faces say how they were found and keep their
-- landmarks; keys get a name and a last-use time; events carry the camera,
-- the matched face and the request id; async jobs; and every change to the
-- gallery is announced on the channel dv_gallery so that every dejaviewd
-- on this database converges (a trigger, so cascades are announced too).
ALTER TABLE dv_faces DROP COLUMN embedding;
ALTER TABLE dv_faces ADD COLUMN embedding bytea NOT NULL;      -- dim float32, little-endian
ALTER TABLE dv_faces ADD COLUMN dim integer NOT NULL;
ALTER TABLE dv_faces ADD COLUMN found_by text;
ALTER TABLE dv_faces ADD COLUMN landmarks jsonb;
CREATE INDEX dv_faces_stamp ON dv_faces (model, fingerprint, id);

ALTER TABLE dv_api_keys ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE dv_api_keys ADD COLUMN last_used_at timestamptz;
CREATE INDEX dv_api_keys_tenant ON dv_api_keys (tenant_id);

ALTER TABLE dv_events ADD COLUMN camera text;
ALTER TABLE dv_events ADD COLUMN face_id bigint;                -- the matched face (no FK: faces come and go)
ALTER TABLE dv_events ADD COLUMN request_id text;
ALTER TABLE dv_events ADD COLUMN box jsonb;
ALTER TABLE dv_events ADD COLUMN similarity real;
CREATE INDEX dv_events_tenant_id ON dv_events (tenant_id, id);

CREATE INDEX dv_persons_tenant_id ON dv_persons (tenant_id, id);

CREATE TABLE dv_jobs (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    op          text NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    node        text NOT NULL,                -- the dejaviewd that runs it
    request     jsonb NOT NULL DEFAULT '{}',  -- the operation's parameters (no image)
    result      jsonb,                        -- the reply, when done
    error       jsonb,                        -- {"code","message","status"}, when failed
    webhook     text,
    webhook_status integer,                   -- HTTP status of the last webhook call (0: failed to connect)
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX dv_jobs_tenant ON dv_jobs (tenant_id, id);

CREATE FUNCTION dv_gallery_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('dv_gallery', 'a ' || NEW.tenant_id || ' ' || NEW.id);
        RETURN NEW;
    END IF;
    PERFORM pg_notify('dv_gallery', 'd ' || OLD.tenant_id || ' ' || OLD.id);
    RETURN OLD;
END $$;
CREATE TRIGGER dv_faces_notify AFTER INSERT OR DELETE OR UPDATE OF embedding, model, fingerprint ON dv_faces
    FOR EACH ROW EXECUTE FUNCTION dv_gallery_notify();
