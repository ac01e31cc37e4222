package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jwtkit/jwtkit/store"
)

// RevokeToken denylists the access token t by its jti until the given
// time. The jti (which must not be empty) is stored only as its SHA-256
// ([store.TokenID]).
// Repeating the call never shortens an entry. The entry stays until
// [Store.Sweep] removes it after until.
func (s *Store) RevokeToken(ctx context.Context, t store.TokenRef, until time.Time) error {
	const op = "revoke token"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if t.ID == "" {
		return fmt.Errorf("pgstore: %s: empty jti", op)
	}
	if _, err := s.pool.Exec(ctx, s.q.revokeToken, store.TokenID(t.ID), ceil(until)); err != nil {
		return translate(ctx, op, err)
	}
	return nil
}

// RevokeSubject records the cut-off at for subject (keeping the later
// one if a cut-off exists, rounded up to the microsecond) and marks every
// family of subject created before at revoked, in one transaction. The
// cut-off row is kept until at+maxAge at least (see [Store.Sweep]).
// Families created before the cut-off but stored after this call are
// still refused: rotation and [Store.IsRevoked] compare the creation time
// with the cut-off.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time, maxAge time.Duration) error {
	const op = "revoke subject"
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	if err := checkStorable(op, "subject", subject); err != nil {
		return err
	}
	cut := ceil(at)
	keep := ceil(at.Add(max(maxAge, 0)))
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(s.q.upsertCutoff, subject, cut, keep)
		b.Queue(s.q.revokeOldFamilies, subject, cut)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return translate(ctx, op, err)
		}
		return nil
	})
}

// IsRevoked reports whether the access token t was revoked: its jti is
// denylisted; or it names a family of its subject that is revoked or was
// created before the subject's cut-off; or the subject has a cut-off C and
// t was issued before it. As iat has whole seconds, a token with
// iat < C < iat+1s is judged by its family: it stands only if t.FamilyID
// names a family of the subject created at or after C. A family that does
// not exist does not by itself revoke a token. One query gathers the
// facts and [store.TokenRevoked] decides; every failure is returned as an
// error wrapping [store.ErrUnavailable], never as "not revoked".
func (s *Store) IsRevoked(ctx context.Context, t store.TokenRef) (bool, error) {
	const op = "is revoked"
	if err := ctx.Err(); err != nil {
		return false, unavailable(op, err)
	}
	subject, familyID := t.Subject, t.FamilyID
	if !storable(subject) {
		subject = "" // matches no family and no cut-off
	}
	if !storable(familyID) {
		familyID = ""
	}
	var (
		denied     bool
		famRevoked *bool
		famCreated *time.Time
		cutoff     *time.Time
	)
	err := s.pool.QueryRow(ctx, s.q.isRevoked, store.TokenID(t.ID), familyID, subject).
		Scan(&denied, &famRevoked, &famCreated, &cutoff)
	if err != nil {
		return false, translate(ctx, op, err)
	}
	facts := store.RevocationFacts{Denylisted: denied}
	if familyID != "" && famRevoked != nil && famCreated != nil {
		facts.FamilyFound, facts.FamilyRevoked, facts.FamilyCreatedAt = true, *famRevoked, *famCreated
	}
	if cutoff != nil {
		facts.HasCutoff, facts.Cutoff = true, *cutoff
	}
	return store.TokenRevoked(t, facts), nil
}
