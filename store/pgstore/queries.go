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

	createFamily string
	lockFamily   string
	cutoffOf     string
	revokeFamily string
	rotate       string
	graceRetry   string

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

		// A family dated before its subject's cut-off is stored revoked,
		// as RevokeSubject would have marked it had it existed then.
		// $1 id, $2 subject, $3 created, $4 expires, $5 first token,
		// $6 its issued_at, $7 its expires_at.
		createFamily: r.Replace(`INSERT INTO {families} (id, subject, created_at, expires_at,
				current_token, current_issued_at, current_expires_at, revoked)
			VALUES ($1, $2, $3, $4, $5, $6, $7,
				EXISTS (SELECT 1 FROM {cutoffs} c WHERE c.subject = $2 AND c.cutoff > $3))`),

		// Rotation step 1: lock the family row. Concurrent rotations of the
		// family queue here; each then reads the row as the previous one
		// left it.
		lockFamily: r.Replace(`SELECT subject, created_at, expires_at, revoked, current_token,
				current_issued_at, current_expires_at, previous_token, rotated_at
			FROM {families} WHERE id = $1 FOR UPDATE`),
		// Rotation step 2, a separate statement so that it reads with a
		// snapshot taken after the lock was granted (READ COMMITTED).
		cutoffOf: r.Replace(`SELECT (SELECT c.cutoff FROM {cutoffs} c WHERE c.subject = $1)`),
		revokeFamily: r.Replace(`UPDATE {families} SET revoked = true
			WHERE id = $1 AND subject = $2 AND NOT revoked`),
		// $1 family, $2 next id, $3 issued_at, $4 expires_at, $5 now.
		rotate: r.Replace(`UPDATE {families}
			SET previous_token = current_token, current_token = $2,
				current_issued_at = $3, current_expires_at = $4, rotated_at = $5
			WHERE id = $1`),
		// $1 family, $2 next id, $3 issued_at, $4 expires_at.
		graceRetry: r.Replace(`UPDATE {families}
			SET current_token = $2, current_issued_at = $3, current_expires_at = $4
			WHERE id = $1`),

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
		// A family is one row, holding all its reuse-detection state.
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
