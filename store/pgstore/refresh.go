package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtkit/jwtkit/store"
)

// CreateFamily starts the family f with its first token, in one row.
// first.ExpiresAt is clamped to f.ExpiresAt. It returns an error wrapping
// [store.ErrExists] if the family ID is taken (by any subject). A family
// dated before the subject's
// cut-off is stored revoked. (Rotation and [Store.IsRevoked] compare the
// creation time with the cut-off anyway, which also covers a family
// stored while [Store.RevokeSubject] runs.)
func (s *Store) CreateFamily(ctx context.Context, f store.Family, first store.RefreshToken) error {
	const op = "create family"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if err := checkFamily(op, f, first); err != nil {
		return err
	}
	famExp := trunc(f.ExpiresAt)
	exp := minTime(trunc(first.ExpiresAt), famExp)
	_, err := s.pool.Exec(ctx, s.q.createFamily,
		f.ID, f.Subject, trunc(f.CreatedAt), famExp, first.ID, trunc(first.IssuedAt), exp)
	if err != nil {
		return translate(ctx, op, err)
	}
	return nil
}

func checkFamily(op string, f store.Family, first store.RefreshToken) error {
	for _, c := range []struct{ name, v string }{
		{"family ID", f.ID}, {"subject", f.Subject}, {"token ID", first.ID},
	} {
		if err := checkStorable(op, c.name, c.v); err != nil {
			return err
		}
	}
	if first.FamilyID != f.ID || first.Subject != f.Subject {
		return fmt.Errorf("pgstore: %s: first token names family %q of %q, want %q of %q",
			op, first.FamilyID, first.Subject, f.ID, f.Subject)
	}
	return nil
}

// familyRow is the locked family as rotation sees it: all its
// reuse-detection state.
type familyRow struct {
	subject    string
	createdAt  time.Time
	expiresAt  time.Time
	revoked    bool
	current    string
	currentIat time.Time
	currentExp time.Time
	previous   *string
	rotatedAt  *time.Time
}

// Rotate consumes the token r.PresentedID and stores r.Next, as
// [store.RefreshTokens] describes: the family row holds the current token
// and the previous token's ID, and any other token naming the family is
// reuse. It runs one READ COMMITTED transaction that first locks the
// family row (SELECT … FOR UPDATE) and only then reads the subject's
// cut-off, so concurrent rotations of a family are serialised and each
// sees the previous one's outcome: of many concurrent presentations of one
// token exactly one succeeds. Decisions use r.Now, never the database
// clock.
//
// Repeating a rotation that committed (same presented token, same successor
// ID, which the server generates per request) returns the successor again
// instead of reporting reuse, so a retry after a lost reply is harmless.
//
// When the token is reused and the grace window does not apply, or the
// family predates a subject cut-off, the family is marked revoked in the
// same transaction and the error wraps [store.ErrReused] or
// [store.ErrRevoked]. If the commit cannot be confirmed the error wraps
// [store.ErrUnavailable] instead.
func (s *Store) Rotate(ctx context.Context, r store.Rotation) (store.RefreshToken, error) {
	const op = "rotate"
	if err := ctx.Err(); err != nil {
		return store.RefreshToken{}, unavailable(op, err)
	}
	if !storable(r.PresentedID) || !storable(r.FamilyID) || !storable(r.Subject) ||
		r.PresentedID == "" || r.FamilyID == "" || r.Subject == "" {
		return store.RefreshToken{}, fmt.Errorf("pgstore: %s: %w", op, store.ErrNotFound)
	}
	if err := checkStorable(op, "next token ID", r.Next.ID); err != nil {
		return store.RefreshToken{}, err
	}
	if r.Next.FamilyID != r.FamilyID || r.Next.Subject != r.Subject {
		return store.RefreshToken{}, fmt.Errorf("pgstore: %s: next token names family %q of %q, want %q of %q",
			op, r.Next.FamilyID, r.Next.Subject, r.FamilyID, r.Subject)
	}
	now := trunc(r.Now)

	var (
		next    store.RefreshToken
		outcome error // a sentinel decision, returned after commit
	)
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		var (
			fam    familyRow
			famErr error
			cutoff *time.Time
		)
		b := &pgx.Batch{}
		b.Queue(s.q.lockFamily, r.FamilyID).QueryRow(func(row pgx.Row) error {
			famErr = row.Scan(&fam.subject, &fam.createdAt, &fam.expiresAt, &fam.revoked,
				&fam.current, &fam.currentIat, &fam.currentExp, &fam.previous, &fam.rotatedAt)
			if errors.Is(famErr, pgx.ErrNoRows) {
				return nil // decided below
			}
			return famErr
		})
		b.Queue(s.q.cutoffOf, r.Subject).QueryRow(func(row pgx.Row) error {
			return row.Scan(&cutoff)
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return translate(ctx, op, err)
		}

		// 1. Unknown family, or one of another subject.
		if famErr != nil || fam.subject != r.Subject {
			outcome = store.ErrNotFound
			return nil
		}
		// 2. Revoked family.
		if fam.revoked {
			outcome = store.ErrRevoked
			return nil
		}
		// 3. Family created before a subject-wide cut-off.
		if cutoff != nil && fam.createdAt.Before(*cutoff) {
			outcome = store.ErrRevoked
			return s.revokeLocked(ctx, tx, op, r)
		}
		// 4. Family past its absolute expiry.
		if !now.Before(fam.expiresAt) {
			outcome = store.ErrExpired
			return nil
		}
		next = store.RefreshToken{
			ID:        r.Next.ID,
			FamilyID:  r.FamilyID,
			Subject:   r.Subject,
			IssuedAt:  trunc(r.Next.IssuedAt),
			ExpiresAt: minTime(trunc(r.Next.ExpiresAt), fam.expiresAt),
		}
		isPrevious := fam.previous != nil && *fam.previous == r.PresentedID
		taken := next.ID == fam.current || (fam.previous != nil && next.ID == *fam.previous)
		// 5. Not the current token: an exact repeat, a grace retry, or reuse.
		if r.PresentedID != fam.current {
			if isPrevious && next.ID == fam.current {
				// This very rotation already committed (a retry after a
				// lost reply): answer as before.
				next.IssuedAt, next.ExpiresAt = fam.currentIat, fam.currentExp
				return nil
			}
			if isPrevious && r.Grace > 0 && fam.rotatedAt != nil && now.Before(*fam.rotatedAt) {
				// Delivered late, after a retry that won: change nothing.
				outcome = store.ErrSuperseded
				return nil
			}
			if isPrevious && r.Grace > 0 && fam.rotatedAt != nil && now.Sub(*fam.rotatedAt) <= r.Grace {
				if taken {
					outcome = store.ErrExists
					return nil
				}
				if _, err := tx.Exec(ctx, s.q.graceRetry, r.FamilyID, next.ID, next.IssuedAt, next.ExpiresAt); err != nil {
					return translate(ctx, op, err)
				}
				return nil
			}
			outcome = store.ErrReused
			return s.revokeLocked(ctx, tx, op, r)
		}
		// 6. Current token past its own expiry.
		if !now.Before(fam.currentExp) {
			outcome = store.ErrExpired
			return nil
		}
		if taken {
			outcome = store.ErrExists
			return nil
		}
		// 7. Rotate.
		if _, err := tx.Exec(ctx, s.q.rotate, r.FamilyID, next.ID, next.IssuedAt, next.ExpiresAt, now); err != nil {
			return translate(ctx, op, err)
		}
		return nil
	})
	if err != nil {
		return store.RefreshToken{}, err
	}
	if outcome != nil {
		return store.RefreshToken{}, fmt.Errorf("pgstore: %s: %w", op, outcome)
	}
	return next, nil
}

// revokeLocked marks the family of r revoked inside the rotation
// transaction.
func (s *Store) revokeLocked(ctx context.Context, tx pgx.Tx, op string, r store.Rotation) error {
	if _, err := tx.Exec(ctx, s.q.revokeFamily, r.FamilyID, r.Subject); err != nil {
		return translate(ctx, op, err)
	}
	return nil
}

// RevokeFamily marks the family familyID of subject revoked. Revoking an
// unknown or already revoked family is not an error. A rotation of the
// family running at the same time either commits first (and its new token
// is then revoked with the family) or sees the revocation.
func (s *Store) RevokeFamily(ctx context.Context, subject, familyID string) error {
	const op = "revoke family"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if !storable(subject) || !storable(familyID) {
		return nil // cannot name a stored family
	}
	if _, err := s.pool.Exec(ctx, s.q.revokeFamily, familyID, subject); err != nil {
		return translate(ctx, op, err)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
