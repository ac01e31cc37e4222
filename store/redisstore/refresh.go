package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// CreateFamily starts the family f with its first token, clamping
// first.ExpiresAt to f.ExpiresAt, in one hash that holds the whole
// session's state. The key expires six minutes ([jwt.MaxLeeway] plus one)
// after the family does, as the package documentation describes. It
// returns an error wrapping [store.ErrExists] when the family ID is
// already used by the same subject; IDs of different subjects live in
// different cluster slots and are not compared (they are random, so they
// do not collide in practice). A family dated before the subject's
// cut-off is stored revoked.
func (s *Store) CreateFamily(ctx context.Context, f store.Family, first store.RefreshToken) error {
	const op = "create family"
	if f.ID == "" || f.Subject == "" || first.ID == "" {
		return fmt.Errorf("redisstore: %s: empty family ID, subject or token ID", op)
	}
	if first.FamilyID != f.ID || first.Subject != f.Subject {
		return fmt.Errorf("redisstore: %s: first token names family %q of %q, want %q of %q",
			op, first.FamilyID, first.Subject, f.ID, f.Subject)
	}
	exp := first.ExpiresAt
	if f.ExpiresAt.Before(exp) {
		exp = f.ExpiresAt
	}
	k := s.subjectKeys(f.Subject)
	v, err := s.run(ctx, op, createFamilyScript,
		[]string{k.family(hashID(f.ID)), k.cutoff(), k.horizon()},
		micros(f.CreatedAt), micros(f.ExpiresAt), hashID(first.ID),
		micros(first.IssuedAt), micros(exp),
		retention(f.ExpiresAt.Sub(f.CreatedAt), f.ExpiresAt))
	if err != nil {
		return err
	}
	res, err := reply(op, v)
	if err != nil {
		return err
	}
	switch res[0] {
	case "ok":
		return nil
	case "exists":
		return fmt.Errorf("redisstore: %s: %w", op, store.ErrExists)
	}
	return fmt.Errorf("redisstore: %s: %w: unexpected status %q", op, store.ErrUnavailable, res[0])
}

// Rotate consumes the token r.PresentedID and stores r.Next, as
// [store.RefreshTokens] describes, in one Lua script over the family's
// hash, which holds the current token and the previous token's ID (any
// other token naming the family is reuse): the decision and its writes
// are atomic, so of many concurrent presentations of one token
// exactly one succeeds. The script also checks the subject's cut-off, so a
// family created before a [Store.RevokeSubject] cut-off is revoked on its
// next rotation without any key iteration. Decisions use r.Now, never the
// server clock.
//
// Repeating a rotation that succeeded (same presented token, same successor
// ID, which the server generates per request) returns the successor again
// instead of reporting reuse: go-redis re-sends a command after a network
// error, and the first attempt may have run.
func (s *Store) Rotate(ctx context.Context, r store.Rotation) (store.RefreshToken, error) {
	const op = "rotate"
	if r.Next.ID == "" {
		return store.RefreshToken{}, fmt.Errorf("redisstore: %s: empty next token ID", op)
	}
	if r.Next.FamilyID != r.FamilyID || r.Next.Subject != r.Subject {
		return store.RefreshToken{}, fmt.Errorf("redisstore: %s: next token names family %q of %q, want %q of %q",
			op, r.Next.FamilyID, r.Next.Subject, r.FamilyID, r.Subject)
	}
	grace := max(r.Grace.Microseconds(), 0)
	k := s.subjectKeys(r.Subject)
	famHash, presentedHash, nextHash := hashID(r.FamilyID), hashID(r.PresentedID), hashID(r.Next.ID)
	v, err := s.run(ctx, op, rotateScript,
		[]string{k.family(famHash), k.cutoff(), k.token(presentedHash), k.token(nextHash)},
		presentedHash, micros(r.Now), strconv.FormatInt(grace, 10),
		nextHash, micros(r.Next.IssuedAt), micros(r.Next.ExpiresAt))
	if err != nil {
		return store.RefreshToken{}, err
	}
	res, err := reply(op, v)
	if err != nil {
		return store.RefreshToken{}, err
	}
	var sentinel error
	switch res[0] {
	case "ok":
		if len(res) < 2 {
			break
		}
		exp, err := parseMicros(res[1])
		if err != nil {
			break
		}
		// The successor as stored: microsecond times, expiry clamped.
		next := r.Next
		next.IssuedAt = time.UnixMicro(r.Next.IssuedAt.UnixMicro())
		next.ExpiresAt = exp
		return next, nil
	case "notfound":
		sentinel = store.ErrNotFound
	case "revoked":
		sentinel = store.ErrRevoked
	case "expired":
		sentinel = store.ErrExpired
	case "reused":
		sentinel = store.ErrReused
		// The script revoked the family: announce it to the views.
		if err := s.announceFamily(ctx, op, r.Subject, r.FamilyID); err != nil {
			return store.RefreshToken{}, fmt.Errorf("redisstore: %s: %w; announcing the revocation: %w", op, store.ErrReused, err)
		}
	case "exists":
		sentinel = store.ErrExists
	case "superseded":
		sentinel = store.ErrSuperseded
	}
	if sentinel == nil {
		return store.RefreshToken{}, fmt.Errorf("redisstore: %s: %w: unexpected reply %q", op, store.ErrUnavailable, res)
	}
	return store.RefreshToken{}, fmt.Errorf("redisstore: %s: %w", op, sentinel)
}

// RevokeFamily marks the family familyID of subject revoked. Revoking an
// unknown or already revoked family is not an error and creates nothing.
func (s *Store) RevokeFamily(ctx context.Context, subject, familyID string) error {
	const op = "revoke family"
	k := s.subjectKeys(subject)
	if err := s.announceFamily(ctx, op, subject, familyID); err != nil {
		return err
	}
	_, err := s.run(ctx, op, revokeFamilyScript, []string{k.family(hashID(familyID))})
	return err
}
