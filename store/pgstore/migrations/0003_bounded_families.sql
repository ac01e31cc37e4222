-- Bounded reuse-detection state: a family row holds its current token
-- (with its issue and expiry times) and the previous token's ID, and
-- nothing else per rotation. Older tokens need no record: every refresh
-- token the server signs was once its family's current token, so one that
-- is neither current nor previous is reuse. Every instance must run this
-- release once the migration has run (the old one reads refresh_tokens).

ALTER TABLE refresh_families
    ADD COLUMN current_issued_at  timestamptz,
    ADD COLUMN current_expires_at timestamptz;

UPDATE refresh_families f
SET current_issued_at = t.issued_at, current_expires_at = t.expires_at
FROM refresh_tokens t
WHERE t.id = f.current_token;

-- A family without its current token's row cannot rotate: end it.
UPDATE refresh_families
SET current_issued_at = created_at, current_expires_at = created_at, revoked = true
WHERE current_issued_at IS NULL;

ALTER TABLE refresh_families
    ALTER COLUMN current_issued_at SET NOT NULL,
    ALTER COLUMN current_expires_at SET NOT NULL;

DROP TABLE refresh_tokens;
