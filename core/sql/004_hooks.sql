-- 004: a tenant's business hooks live here (issue 16), edited through the
-- API: one row per hook (its place in the run order and its active
-- version), immutable versions of its source, and an audit log of who
-- changed what. hooks_seq counts a tenant's hook changes: each change takes
-- the tenant's row lock to bump it (so concurrent changes queue), and it is
-- announced on the channel dv_hooks as "TENANT SEQ" at commit, so that every
-- dejaviewd on this database swaps the tenant's hooks, and one that loaded
-- them earlier can tell its copy is older.
ALTER TABLE dv_tenants ADD COLUMN hooks_seq bigint NOT NULL DEFAULT 0;

CREATE TABLE dv_hooks (
    tenant_id      bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    position       integer NOT NULL DEFAULT 0,   -- run order: position, then name
    active_version integer,                      -- NULL: deactivated (versions kept)
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     bigint,                       -- key id (NULL: the admin key)
    updated_by_name text,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE dv_hook_versions (
    tenant_id   bigint NOT NULL,
    name        text NOT NULL,
    version     integer NOT NULL,
    source      text NOT NULL,
    sha256      text NOT NULL,
    functions   text[] NOT NULL DEFAULT '{}',    -- the on_* it defines
    author_key  bigint,                          -- key id (NULL: the admin key)
    author_name text,
    comment     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name, version),
    FOREIGN KEY (tenant_id, name) REFERENCES dv_hooks (tenant_id, name) ON DELETE CASCADE
);

CREATE TABLE dv_audit (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    key_id      bigint,                          -- NULL: the admin key
    key_name    text,
    address     text,                            -- the client's address
    action      text NOT NULL,                   -- e.g. hook.put, hook.activate, key.create
    target      text NOT NULL,                   -- e.g. hook:loyalty, key:12, tenant:settings
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX dv_audit_tenant_at ON dv_audit (tenant_id, at, id);
