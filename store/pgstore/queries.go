package pgstore

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// queries holds every SQL statement of a Store, with the schema name
// already quoted into it. Values are always passed as parameters; the
// schema is the only text spliced into SQL, and New has validated it.
type queries struct {
	userByUsername string
	userByID       string
	createUser     string
	setPassword    string
	swapPassword   string

	createFamily   string
	lockFamily     string
	tokenAndCutoff string
	revokeFamily   string
	rotate         string
	graceRetry     string

	revokeToken       string
	upsertCutoff      string
	revokeOldFamilies string
	isRevoked         string

	sweepDenylist string
	sweepFamilies string
	sweepCutoffs  string

	migrateLock       string
	migrateLockKey    int64 // the argument of migrateLock, see lockKey
	migrateSetup      string
	migrateCurrent    string
	migrateSearchPath string
	migrateRecord     string
}

func buildQueries(schema string) queries {
	r := strings.NewReplacer(
		"{schema}", pgx.Identifier{schema}.Sanitize(),
		"{versions}", pgx.Identifier{schema, "schema_version"}.Sanitize(),
		"{users}", pgx.Identifier{schema, "users"}.Sanitize(),
		"{families}", pgx.Identifier{schema, "refresh_families"}.Sanitize(),
		"{tokens}", pgx.Identifier{schema, "refresh_tokens"}.Sanitize(),
		"{denylist}", pgx.Identifier{schema, "revoked_tokens"}.Sanitize(),
		"{cutoffs}", pgx.Identifier{schema, "subject_cutoffs"}.Sanitize(),
	)
	const userCols = `id, username, password_hash, disabled, scopes, profile, created_at`
	return queries{
		userByUsername: r.Replace(`SELECT ` + userCols + ` FROM {users} WHERE username = $1`),
		userByID:       r.Replace(`SELECT ` + userCols + ` FROM {users} WHERE id = $1`),
		createUser: r.Replace(`INSERT INTO {users} (` + userCols + `)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`),
		setPassword: r.Replace(`UPDATE {users} SET password_hash = $2 WHERE id = $1`),
		// The row's own check under its lock: a concurrent change of the
		// hash makes this one update no row.
		swapPassword: r.Replace(`UPDATE {users} SET password_hash = $3 WHERE id = $1 AND password_hash = $2`),

		// One statement: both rows or neither. The token's foreign key is
		// checked at the end of the statement, when the family row exists.
		// A family dated before its subject's cut-off is stored revoked,
		// as RevokeSubject would have marked it had it existed then.
		createFamily: r.Replace(`WITH f AS (
				INSERT INTO {families} (id, subject, created_at, expires_at, current_token, revoked)
				VALUES ($1, $2, $3, $4, $5,
					EXISTS (SELECT 1 FROM {cutoffs} c WHERE c.subject = $2 AND c.cutoff > $3))
				RETURNING id
			)
			INSERT INTO {tokens} (id, family_id, subject, issued_at, expires_at)
			SELECT $5, f.id, $2, $6, $7 FROM f`),

		// Rotation step 1: lock the family row. Concurrent rotations of the
		// family queue here; each then reads the token afresh.
		lockFamily: r.Replace(`SELECT subject, created_at, expires_at, revoked, current_token,
				previous_token, rotated_at
			FROM {families} WHERE id = $1 FOR UPDATE`),
		// Rotation step 2, a separate statement so that it reads with a
		// snapshot taken after the lock was granted (READ COMMITTED).
		tokenAndCutoff: r.Replace(`SELECT t.family_id, t.subject, t.expires_at, t.consumed,
				(SELECT c.cutoff FROM {cutoffs} c WHERE c.subject = $2)
			FROM (SELECT 1) AS one LEFT JOIN {tokens} t ON t.id = $1`),
		revokeFamily: r.Replace(`UPDATE {families} SET revoked = true
			WHERE id = $1 AND subject = $2 AND NOT revoked`),
		// $1 presented, $2 family, $3 next id, $4 subject, $5 issued_at,
		// $6 expires_at, $7 now.
		rotate: r.Replace(`WITH consumed AS (
				UPDATE {tokens} SET consumed = true WHERE id = $1
			), next AS (
				INSERT INTO {tokens} (id, family_id, subject, issued_at, expires_at)
				VALUES ($3, $2, $4, $5, $6)
			)
			UPDATE {families}
			SET previous_token = $1, current_token = $3, rotated_at = $7
			WHERE id = $2`),
		// $1 current token, $2 family, $3 next id, $4 subject, $5 issued_at,
		// $6 expires_at.
		graceRetry: r.Replace(`WITH consumed AS (
				UPDATE {tokens} SET consumed = true WHERE id = $1
			), next AS (
				INSERT INTO {tokens} (id, family_id, subject, issued_at, expires_at)
				VALUES ($3, $2, $4, $5, $6)
			)
			UPDATE {families} SET current_token = $3 WHERE id = $2`),

		revokeToken: r.Replace(`INSERT INTO {denylist} (jti_hash, expires_at) VALUES ($1, $2)
			ON CONFLICT (jti_hash) DO UPDATE
			SET expires_at = GREATEST({denylist}.expires_at, EXCLUDED.expires_at)`),
		upsertCutoff: r.Replace(`INSERT INTO {cutoffs} (subject, cutoff, keep_until) VALUES ($1, $2, $3)
			ON CONFLICT (subject) DO UPDATE
			SET cutoff = GREATEST({cutoffs}.cutoff, EXCLUDED.cutoff),
			    keep_until = GREATEST({cutoffs}.keep_until, EXCLUDED.keep_until)`),
		revokeOldFamilies: r.Replace(`UPDATE {families} SET revoked = true
			WHERE subject = $1 AND created_at < $2 AND NOT revoked`),
		// One round trip: denylist hit, the family (if any) and the cut-off.
		isRevoked: r.Replace(`SELECT
				EXISTS (SELECT 1 FROM {denylist} d WHERE d.jti_hash = $1),
				f.revoked, f.created_at, c.cutoff
			FROM (SELECT 1) AS one
			LEFT JOIN {families} f ON f.id = $2 AND f.subject = $3
			LEFT JOIN {cutoffs} c ON c.subject = $3`),

		sweepDenylist: r.Replace(`DELETE FROM {denylist} WHERE ctid IN (
				SELECT ctid FROM {denylist} WHERE expires_at < $1 LIMIT $2)`),
		// A family goes with all its tokens, through the foreign key's ON
		// DELETE CASCADE, so it counts once and is never left half-swept.
		// Tokens of a live family stay, consumed or not: reuse detection
		// looks for them.
		sweepFamilies: r.Replace(`DELETE FROM {families} WHERE ctid IN (
				SELECT ctid FROM {families} WHERE expires_at < $1 LIMIT $2)`),
		// A cut-off revokes the families created before it; before it goes,
		// that is written into the families it covers, including ones
		// stored after RevokeSubject ran (dated before the cut-off).
		sweepCutoffs: r.Replace(`WITH gone AS (
				DELETE FROM {cutoffs} WHERE ctid IN (
					SELECT ctid FROM {cutoffs} WHERE keep_until < $1 LIMIT $2)
				RETURNING subject, cutoff
			), flagged AS (
				UPDATE {families} f SET revoked = true FROM gone
				WHERE f.subject = gone.subject AND f.created_at < gone.cutoff AND NOT f.revoked
			)
			SELECT count(*) FROM gone`),

		migrateLock:    `SELECT pg_advisory_xact_lock($1)`,
		migrateLockKey: lockKey(schema),
		migrateSetup: r.Replace(`CREATE SCHEMA IF NOT EXISTS {schema};
			CREATE TABLE IF NOT EXISTS {versions} (
				version    integer     PRIMARY KEY,
				name       text        NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`),
		migrateCurrent:    r.Replace(`SELECT coalesce(max(version), 0) FROM {versions}`),
		migrateSearchPath: r.Replace(`SET LOCAL search_path TO {schema}`),
		migrateRecord:     r.Replace(`INSERT INTO {versions} (version, name) VALUES ($1, $2)`),
	}
}
