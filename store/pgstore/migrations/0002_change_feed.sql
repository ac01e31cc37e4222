-- Change feed for views (package storeview): every write that revokes
-- something, and every change or deletion of a user, sends a notification
-- on the schema's channel, in the writing transaction, so it is delivered
-- only if the write commits. Identifiers travel as their
-- store.TokenID (unpadded base64url SHA-256), times as Unix microseconds,
-- so the payload stays far below NOTIFY's 8000-byte limit whatever the
-- input.

CREATE FUNCTION revocation_token_id(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT rtrim(translate(encode(sha256(convert_to(s, 'UTF8')), 'base64'), '+/', '-_'), '=')
$$;

CREATE FUNCTION revocation_micros(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

-- SET search_path FROM CURRENT pins the schema Migrate sets, so the
-- writers' own search_path does not matter.
CREATE FUNCTION notify_change() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    channel text := 'jwtkit_' || md5(TG_TABLE_SCHEMA);
    payload json;
BEGIN
    -- One statement per table: plpgsql plans each separately, so a
    -- branch may name columns the other tables lack.
    IF TG_TABLE_NAME = 'users' THEN
        payload := json_build_object('k', 'u', 'id', revocation_token_id(OLD.id));
    ELSIF TG_TABLE_NAME = 'revoked_tokens' THEN
        payload := json_build_object('k', 't', 'id', NEW.jti_hash,
            'until', revocation_micros(NEW.expires_at));
    ELSIF TG_TABLE_NAME = 'subject_cutoffs' THEN
        payload := json_build_object('k', 'c', 'sub', revocation_token_id(NEW.subject),
            'at', revocation_micros(NEW.cutoff), 'until', revocation_micros(NEW.keep_until));
    ELSE
        payload := json_build_object('k', 'f', 'sub', revocation_token_id(NEW.subject),
            'id', revocation_token_id(NEW.id), 'until', revocation_micros(NEW.expires_at));
    END IF;
    PERFORM pg_notify(channel, payload::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER revoked_tokens_notify AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_change();
CREATE TRIGGER subject_cutoffs_notify AFTER INSERT OR UPDATE ON subject_cutoffs
    FOR EACH ROW EXECUTE FUNCTION notify_change();
-- Rotations update families all the time; only a revocation notifies.
CREATE TRIGGER refresh_families_revoked_notify AFTER UPDATE OF revoked ON refresh_families
    FOR EACH ROW WHEN (NEW.revoked AND NOT OLD.revoked) EXECUTE FUNCTION notify_change();
CREATE TRIGGER refresh_families_insert_revoked_notify AFTER INSERT ON refresh_families
    FOR EACH ROW WHEN (NEW.revoked) EXECUTE FUNCTION notify_change();

-- Any change to a user (disabled, scopes, profile, password) or its
-- deletion drops it from the views' caches.
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_change();

-- A view's full load reads the revoked families without scanning the
-- live ones.
CREATE INDEX refresh_families_revoked_idx ON refresh_families (expires_at) WHERE revoked;
