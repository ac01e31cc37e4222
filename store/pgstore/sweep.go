package pgstore

import (
	"context"
	"time"
)

// Sweep deletes state that expired before now and returns how many
// records it deleted, at most limit (0 or less: 1000). A record is a
// denylist entry, a subject cut-off, or a family together with all its
// tokens, which counts once, as [store.Sweeper] specifies. In order:
// denylist entries whose expiry passed; families past their absolute
// expiry (a family is one row, its tokens included); cut-offs past
// their retention, after marking the families they cover revoked (so a
// family never outlives the cut-off that revoked it, even one stored after
// the cut-off with an earlier creation time). Live families are kept
// whatever their tokens' expiry, because reuse detection needs them.
// Each delete is a bounded statement (DELETE … WHERE ctid IN (SELECT …
// LIMIT n)), so a sweep locks at most limit records; call it periodically, and again while it returns
// limit.
//
// A revoked family stops counting against its access tokens once it is
// swept. To keep such tokens reported revoked until they expire, pass a
// now that lags the real time by the access-token lifetime.
func (s *Store) Sweep(ctx context.Context, now time.Time, limit int) (int, error) {
	const op = "sweep"
	if err := ctx.Err(); err != nil {
		return 0, unavailable(op, err)
	}
	if limit <= 0 {
		limit = defaultSweepLimit
	}
	now = trunc(now)
	total := 0
	for _, q := range []string{s.q.sweepDenylist, s.q.sweepFamilies} {
		if total >= limit {
			return total, nil
		}
		tag, err := s.pool.Exec(ctx, q, now, limit-total)
		if err != nil {
			return total, translate(ctx, op, err)
		}
		total += int(tag.RowsAffected())
	}
	if total >= limit {
		return total, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, s.q.sweepCutoffs, now, limit-total).Scan(&n); err != nil {
		return total, translate(ctx, op, err)
	}
	return total + n, nil
}
