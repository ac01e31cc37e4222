package pgstore

import (
	"context"
	"time"
)

// Sweep deletes state that expired before now and returns how many rows
// it deleted, at most limit (0 or less: 1000). In order: denylist entries
// whose expiry passed; the tokens of families past their absolute expiry,
// then those families; cut-offs past their retention, after marking the
// families they cover revoked (so a family never outlives the cut-off
// that revoked it, even one stored after the cut-off with an earlier
// creation time). Tokens of live
// families are kept even when consumed or expired, because reuse
// detection needs them. Each delete is a bounded statement (DELETE … WHERE
// ctid IN (SELECT … LIMIT n)), so a sweep never holds many row locks;
// call it periodically, and again while it returns limit.
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
	for _, q := range []string{s.q.sweepDenylist, s.q.sweepTokens, s.q.sweepFamilies} {
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
