package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/jwtkit/jwtkit/store/storetest"
)

// BenchmarkSessionBytes reports what a schema holds per active session
// (bytes/session: the growth of pg_total_relation_size, tables and
// indexes, of the refresh tables after VACUUM FULL), after 1 and after 50
// rotations of each session:
//
//	go test -run '^$' -bench SessionBytes -benchtime 1x ./store/pgstore
func BenchmarkSessionBytes(b *testing.B) {
	const sessions = 500
	for _, rotations := range []int{1, 50} {
		b.Run(fmt.Sprintf("rotations=%d", rotations), func(b *testing.B) {
			for b.Loop() {
				s, schema := newStore(b)
				ctx := b.Context()
				size := func() int64 {
					b.Helper()
					var total int64
					rows, err := pool(b).Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE 'refresh%'`, schema)
					if err != nil {
						b.Fatal(err)
					}
					names, err := pgx.CollectRows(rows, pgx.RowTo[string])
					if err != nil {
						b.Fatal(err)
					}
					for _, name := range names {
						rel := pgx.Identifier{schema, name}.Sanitize()
						if _, err := pool(b).Exec(ctx, `VACUUM FULL `+rel); err != nil {
							b.Fatal(err)
						}
						var n int64
						if err := pool(b).QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)`, rel).Scan(&n); err != nil {
							b.Fatal(err)
						}
						total += n
					}
					return total
				}
				before := size()
				if err := storetest.FillSessions(ctx, s, sessions, rotations); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(size()-before)/sessions, "bytes/session")
			}
		})
	}
}
