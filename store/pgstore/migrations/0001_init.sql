-- Initial schema. Migrate runs this file with search_path set to the
-- configured schema, so the names below are unqualified.

CREATE TABLE users (
    id            text        PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    scopes        text[]      NOT NULL DEFAULT '{}',
    profile       jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL
);

-- One row per login session. current_token and previous_token hold token
-- IDs (store.TokenID, a SHA-256 of the jti), never the tokens themselves.
CREATE TABLE refresh_families (
    id             text        PRIMARY KEY,
    subject        text        NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked        boolean     NOT NULL DEFAULT false,
    current_token  text        NOT NULL,
    previous_token text,
    rotated_at     timestamptz
);
CREATE INDEX refresh_families_subject_idx ON refresh_families (subject, created_at);
CREATE INDEX refresh_families_expires_idx ON refresh_families (expires_at);

-- Consumed tokens stay until their family is swept: reuse detection needs them.
CREATE TABLE refresh_tokens (
    id         text        PRIMARY KEY,
    family_id  text        NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    subject    text        NOT NULL,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    consumed   boolean     NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Denylisted access tokens, keyed by the SHA-256 of the jti.
CREATE TABLE revoked_tokens (
    jti_hash   text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- Per-subject cut-offs: tokens issued and families created before cutoff
-- are revoked. The row is kept until keep_until.
CREATE TABLE subject_cutoffs (
    subject    text        PRIMARY KEY,
    cutoff     timestamptz NOT NULL,
    keep_until timestamptz NOT NULL
);
CREATE INDEX subject_cutoffs_keep_idx ON subject_cutoffs (keep_until);
