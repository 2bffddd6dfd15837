-- 001: the core schema: tenants, API keys, persons, faces, events, hook state.
-- Every row carries its tenant; deleting a person cascades to everything
-- that belongs to it (right to be forgotten).
CREATE TABLE dv_tenants (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dv_api_keys (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    prefix      text NOT NULL UNIQUE,        -- the public part, to find the row
    hash        bytea NOT NULL,              -- hash of the secret part, never the key
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE dv_persons (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    external_id text,
    name        text NOT NULL,
    attributes  jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, external_id)
);
CREATE INDEX dv_persons_tenant_name ON dv_persons (tenant_id, lower(name));

CREATE TABLE dv_faces (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES dv_persons(id) ON DELETE CASCADE,
    embedding   real[] NOT NULL,
    model       text NOT NULL,               -- embedder name
    fingerprint text NOT NULL,               -- model fingerprint
    box         jsonb,
    quality     real,
    chip        bytea,                       -- aligned face chip (JPEG)
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dv_faces_tenant ON dv_faces (tenant_id);
CREATE INDEX dv_faces_person ON dv_faces (person_id);

CREATE TABLE dv_events (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    person_id   bigint REFERENCES dv_persons(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('recognized', 'unknown', 'enrolled')),
    distance    real,
    location    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dv_events_tenant_time ON dv_events (tenant_id, created_at);
CREATE INDEX dv_events_person_time ON dv_events (person_id, created_at);

CREATE TABLE dv_hook_state (
    tenant_id   bigint NOT NULL REFERENCES dv_tenants(id) ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES dv_persons(id) ON DELETE CASCADE,
    namespace   text NOT NULL,
    key         text NOT NULL,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, person_id, namespace, key)
);
