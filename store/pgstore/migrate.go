package pgstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded steps, named NNNN_description.sql,
// and checks that they are numbered 1, 2, 3, … without gaps.
func loadMigrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("pgstore: migration %q: want NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration %q: bad version number", name)
		}
		body, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgstore: migrations not numbered 1..n: %q is number %d", m.name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, errors.New("pgstore: no migrations embedded")
	}
	return ms, nil
}

// lockKey derives the advisory-lock key of a schema, so that stores on
// different schemas migrate without waiting for each other.
func lockKey(schema string) int64 {
	sum := sha256.Sum256([]byte("jwtkit/pgstore migrate\x00" + schema))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Migrate creates the schema and its tables, or upgrades them to the
// version this package embeds. Each pending step runs in its own
// transaction holding a transaction-level advisory lock derived from the
// schema name, and is recorded in the table schema_version; so Migrate is
// idempotent and safe to call from several processes at once (the others
// wait, then find nothing left to do). Steps newer than this package knows
// (applied by a later release) are left alone.
//
// The database role needs CREATE on the database (for the schema) the
// first time, and ownership of the schema for later upgrades.
func (s *Store) Migrate(ctx context.Context) error {
	const op = "migrate"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for {
		done, err := s.migrateOne(ctx, ms)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the first pending step, if any, and reports whether
// none was left.
func (s *Store) migrateOne(ctx context.Context, ms []migration) (done bool, err error) {
	const op = "migrate"
	err = s.inTx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q.migrateLock, s.q.migrateLockKey); err != nil {
			return translate(ctx, op, err)
		}
		if _, err := tx.Exec(ctx, s.q.migrateSetup); err != nil {
			return translate(ctx, op, err)
		}
		var current int
		if err := tx.QueryRow(ctx, s.q.migrateCurrent).Scan(&current); err != nil {
			return translate(ctx, op, err)
		}
		if current >= len(ms) {
			done = true
			return nil
		}
		m := ms[current]
		// SET LOCAL lasts until the end of this transaction.
		if _, err := tx.Exec(ctx, s.q.migrateSearchPath); err != nil {
			return translate(ctx, op, err)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("pgstore: migration %s: %w", m.name, translate(ctx, op, err))
		}
		if _, err := tx.Exec(ctx, s.q.migrateRecord, m.version, m.name); err != nil {
			return translate(ctx, op, err)
		}
		return nil
	})
	return done, err
}
