-- 005: scoped and publishable keys (issue 17). A key's scopes say what it may
-- do (NULL: everything, as every key made before scopes could); a key limited
-- to the browser-safe scopes with a list of origins is publishable (shown as
-- dvp_...): browsers on those origins may use it, and nothing else. A key may
-- carry a request rate. Changes to keys are announced on the channel dv_keys
-- so that every server refreshes the origins it answers CORS preflights for.
ALTER TABLE dv_api_keys ADD COLUMN scopes text[];
ALTER TABLE dv_api_keys ADD COLUMN origins text[];
ALTER TABLE dv_api_keys ADD COLUMN rate_per_minute integer CHECK (rate_per_minute > 0);
ALTER TABLE dv_api_keys ADD COLUMN publishable boolean NOT NULL DEFAULT false;

CREATE FUNCTION dv_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dv_keys', '');
    RETURN NULL;
END $$;
CREATE TRIGGER dv_api_keys_notify AFTER INSERT OR DELETE OR UPDATE ON dv_api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION dv_keys_notify();

-- sign-ups (POST /v1/signup): which address created which tenant, for the limits
CREATE TABLE dv_signups (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint REFERENCES dv_tenants(id) ON DELETE SET NULL,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dv_signups_address ON dv_signups (address, created_at);
