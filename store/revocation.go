package store

import "time"

// RevocationFacts is what a backend looked up to answer
// [Revocations.IsRevoked] for one access token. Backends gather the facts
// in whatever way suits their storage and leave the decision to
// [TokenRevoked], so that every backend applies the same rule.
type RevocationFacts struct {
	// Denylisted reports that the token's jti is on the denylist
	// ([Revocations.RevokeToken]).
	Denylisted bool

	// FamilyFound reports that the token names an existing family of its
	// own subject. It is false when the token names no family, or one that
	// is unknown (for example swept) or belongs to another subject; the
	// Family fields are then ignored.
	FamilyFound bool
	// FamilyRevoked reports that the family was revoked (logout, reuse,
	// or a subject cut-off written into it).
	FamilyRevoked bool
	// FamilyCreatedAt is the family's creation time.
	FamilyCreatedAt time.Time

	// HasCutoff reports that the subject has a revoke-all cut-off
	// ([Revocations.RevokeSubject]); Cutoff is that cut-off.
	HasCutoff bool
	Cutoff    time.Time
}

// TokenRevoked decides whether the access token t is revoked, given the
// facts a backend found for it. It is the rule of [Revocations.IsRevoked]
// and every backend uses it. The token is revoked when:
//
//   - its jti is denylisted; or
//   - it names a family of its subject that is revoked, or that was
//     created before the subject's cut-off C (whatever the token's iat:
//     the cut-off revokes the whole session); or
//   - the subject has a cut-off C and t.IssuedAt+1s <= C (issued a whole
//     second or more before C); or
//   - t.IssuedAt < C < t.IssuedAt+1s and the token does not name a family
//     of its subject created at or after C. The iat claim has whole
//     seconds, so a token stamped in the second of C may predate it; only
//     a family created at or after C proves it does not.
//
// A family that does not exist does not by itself revoke a token: a swept
// family expired, and so did every access token issued with it. When
// t.FamilyID is empty the family facts are ignored, whatever they say.
func TokenRevoked(t TokenRef, f RevocationFacts) bool {
	if f.Denylisted {
		return true
	}
	famFound := f.FamilyFound && t.FamilyID != ""
	if famFound && f.FamilyRevoked {
		return true
	}
	if !f.HasCutoff {
		return false
	}
	c := f.Cutoff
	famBeforeCut := famFound && f.FamilyCreatedAt.Before(c)
	if famBeforeCut {
		return true
	}
	switch iat := t.IssuedAt; {
	case !iat.Add(time.Second).After(c): // iat+1s <= C
		return true
	case !iat.Before(c): // iat >= C
		return false
	default: // iat < C < iat+1s: only a family created at or after C vouches
		return !famFound
	}
}
