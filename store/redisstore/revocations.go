package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/store"
)

// RevokeToken denylists the access token t by its jti (which must not be
// empty) until the given time. The key is derived from the SHA-256 of the
// jti alone (a jti is revoked whatever subject presents it), and expires
// six minutes after until (see the package documentation for how the TTL
// is measured). Repeating the call never shortens an entry.
func (s *Store) RevokeToken(ctx context.Context, t store.TokenRef, until time.Time) error {
	const op = "revoke token"
	if t.ID == "" {
		return fmt.Errorf("redisstore: %s: empty jti", op)
	}
	var span time.Duration
	if !t.IssuedAt.IsZero() {
		span = until.Sub(t.IssuedAt)
	}
	if err := s.announce(ctx, op, "t:"+hashID(t.ID)+":"+micros(until), until); err != nil {
		return err
	}
	_, err := s.run(ctx, op, revokeTokenScript, []string{s.jtiKey(t.ID)}, retention(span, until))
	return err
}

// RevokeSubject records the cut-off at for subject (which must not be
// empty), keeping a later existing one. It writes one key and iterates nothing: [Store.Rotate],
// [Store.IsRevoked] and [Store.CreateFamily] compare a family's creation
// time with the cut-off in the same step that reads or writes the family,
// which is what revokes the families created before at. The cut-off is
// therefore kept for at least maxAge and at least as long as the
// subject's longest-lived family (tracked in a per-subject horizon key),
// so a family never outlives the cut-off that revoked it.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time, maxAge time.Duration) error {
	const op = "revoke subject"
	if subject == "" {
		return fmt.Errorf("redisstore: %s: empty subject", op)
	}
	maxAge = max(maxAge, 0)
	k := s.subjectKeys(subject)
	cut, end := ceilMicros(at), at.Add(maxAge)
	if err := s.announce(ctx, op, "c:"+hashID(subject)+":"+cut+":"+micros(end), end); err != nil {
		return err
	}
	_, err := s.run(ctx, op, revokeSubjectScript, []string{k.cutoff(), k.horizon()},
		cut, retention(maxAge, end))
	return err
}

// IsRevoked reports whether the access token t was revoked: its jti is
// denylisted; or it names a family of its subject that is revoked or was
// created before the subject's cut-off; or the subject has a cut-off C and
// t was issued before it. As iat has whole seconds, a token with
// iat < C < iat+1s is judged by its family: it stands only if t.FamilyID
// names a family of the subject created at or after C. A family that does
// not exist does not by itself revoke a token. The lookups gather the
// facts and [store.TokenRevoked] decides.
//
// It sends one pipeline (one round trip; on Redis Cluster the denylist
// entry and the subject's keys may live on two nodes, queried in
// parallel). Any failure, including a closed client or an unreachable
// server, is an error wrapping [store.ErrUnavailable], never "not
// revoked". Only an actual nil reply to GET is read as "no cut-off"; it is
// checked per command, apart from transport errors.
func (s *Store) IsRevoked(ctx context.Context, t store.TokenRef) (bool, error) {
	const op = "is revoked"
	if err := ctx.Err(); err != nil {
		return false, unavailable(op, err)
	}
	k := s.subjectKeys(t.Subject)
	pipe := s.client.Pipeline()
	denied := pipe.Exists(ctx, s.jtiKey(t.ID))
	var fam *redis.SliceCmd
	if t.FamilyID != "" {
		fam = pipe.HMGet(ctx, k.family(hashID(t.FamilyID)), "revoked", "created")
	}
	cut := pipe.Get(ctx, k.cutoff())
	// Exec's own error is the first command error, which may be the
	// expected redis.Nil of GET; each command is checked below instead.
	_, _ = pipe.Exec(ctx)

	n, err := denied.Result()
	if err != nil {
		return false, translate(ctx, op, err)
	}
	if n > 0 {
		return true, nil // denylisted: revoked whatever else is stored
	}
	var facts store.RevocationFacts
	if fam != nil {
		vals, err := fam.Result()
		if err != nil {
			return false, translate(ctx, op, err)
		}
		if len(vals) != 2 {
			return false, fmt.Errorf("redisstore: %s: %w: unexpected HMGET reply", op, store.ErrUnavailable)
		}
		if created, ok := vals[1].(string); ok { // nil: no such family
			c, err := parseMicros(created)
			if err != nil {
				return false, fmt.Errorf("redisstore: %s: %w: bad family record: %w", op, store.ErrUnavailable, err)
			}
			facts.FamilyFound, facts.FamilyRevoked, facts.FamilyCreatedAt = true, vals[0] == "1", c
		}
	}
	switch v, err := cut.Result(); {
	case err == nil:
		c, err := parseMicros(v)
		if err != nil {
			return false, fmt.Errorf("redisstore: %s: %w: bad cut-off record: %w", op, store.ErrUnavailable, err)
		}
		facts.HasCutoff, facts.Cutoff = true, c
	case errors.Is(err, redis.Nil):
		// The server answered: this subject has no cut-off.
	default:
		return false, translate(ctx, op, err)
	}
	return store.TokenRevoked(t, facts), nil
}
