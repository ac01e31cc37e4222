package store_test

import (
	"testing"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

func TestTokenRevoked(t *testing.T) {
	sec := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC) // a whole second
	cut := sec.Add(400 * time.Millisecond)
	withCut := func(f store.RevocationFacts) store.RevocationFacts {
		f.HasCutoff, f.Cutoff = true, cut
		return f
	}
	family := func(created time.Time, revoked bool) store.RevocationFacts {
		return store.RevocationFacts{FamilyFound: true, FamilyCreatedAt: created, FamilyRevoked: revoked}
	}
	ref := func(iat time.Time, familyID string) store.TokenRef {
		return store.TokenRef{ID: "jti", Subject: "sub", FamilyID: familyID, IssuedAt: iat}
	}
	cases := []struct {
		name  string
		t     store.TokenRef
		facts store.RevocationFacts
		want  bool
	}{
		{"NothingKnown", ref(sec, ""), store.RevocationFacts{}, false},
		{"Denylisted", ref(sec, ""), store.RevocationFacts{Denylisted: true}, true},
		{"DenylistedWithLiveFamily", ref(sec, "f"), store.RevocationFacts{Denylisted: true, FamilyFound: true, FamilyCreatedAt: sec}, true},
		{"LiveFamilyNoCutoff", ref(sec, "f"), family(sec, false), false},
		{"RevokedFamilyNoCutoff", ref(sec, "f"), family(sec, true), true},
		{"RevokedFamilyIgnoredWithoutFamilyClaim", ref(sec, ""), family(sec, true), false},
		{"IatSecondBeforeCutoff", ref(sec.Add(-time.Second), ""), withCut(store.RevocationFacts{}), true},
		{"IatExactlyOneSecondBeforeCutoff", ref(cut.Add(-time.Second), ""), withCut(store.RevocationFacts{}), true},
		{"IatSecondBeforeCutoffWithLaterFamily", ref(sec.Add(-time.Second), "f"), withCut(family(cut.Add(time.Millisecond), false)), true},
		{"SameSecondNoFamily", ref(sec, ""), withCut(store.RevocationFacts{}), true},
		{"SameSecondUnknownFamily", ref(sec, "f"), withCut(store.RevocationFacts{}), true},
		{"SameSecondFamilyCreatedAtCutoff", ref(sec, "f"), withCut(family(cut, false)), false},
		{"SameSecondFamilyCreatedAfterCutoff", ref(sec, "f"), withCut(family(cut.Add(time.Millisecond), false)), false},
		{"SameSecondFamilyCreatedBeforeCutoff", ref(sec, "f"), withCut(family(cut.Add(-time.Millisecond), false)), true},
		{"SameSecondFamilyFactsWithoutFamilyClaim", ref(sec, ""), withCut(family(cut.Add(time.Millisecond), false)), true},
		{"IatAtCutoff", ref(cut, ""), withCut(store.RevocationFacts{}), false},
		{"IatAfterCutoff", ref(sec.Add(time.Second), ""), withCut(store.RevocationFacts{}), false},
		{"IatAfterCutoffFamilyCreatedBefore", ref(sec.Add(time.Minute), "f"), withCut(family(cut.Add(-time.Millisecond), false)), true},
		{"IatAfterCutoffRevokedFamily", ref(sec.Add(time.Minute), "f"), withCut(family(cut.Add(time.Second), true)), true},
		{"IatAfterCutoffLiveFamily", ref(sec.Add(time.Minute), "f"), withCut(family(cut.Add(time.Second), false)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.TokenRevoked(tc.t, tc.facts); got != tc.want {
				t.Errorf("TokenRevoked(iat=cut%+v, family %q, %+v) = %v, want %v",
					tc.t.IssuedAt.Sub(cut), tc.t.FamilyID, tc.facts, got, tc.want)
			}
		})
	}
}
