package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jwtkit/jwtkit/store"
)

// DefaultSweepLimit is how many records [Store.Sweep] deletes at most when
// called with limit 0.
const DefaultSweepLimit = 1000

// Compile-time checks that Store implements every role.
var (
	_ store.Users         = (*Store)(nil)
	_ store.UserWriter    = (*Store)(nil)
	_ store.RefreshTokens = (*Store)(nil)
	_ store.Revocations   = (*Store)(nil)
	_ store.Sweeper       = (*Store)(nil)
)

// Store holds users, refresh-token families and revocations in memory. The
// zero value is an empty store ready to use; [New] returns one too. A Store
// must not be copied after first use.
type Store struct {
	mu sync.Mutex

	users      map[string]*store.User // by ID; values are private copies
	usernames  map[string]string      // username → ID
	families   map[string]*family     // by family ID
	bySubject  map[string]map[string]*family
	denylist   map[string]time.Time // access-token jti → until
	subjectCut map[string]cutoff    // subject → cut-off
}

// family is the stored state of one login session: a fixed size, however
// often it rotates. Reuse detection needs no record of older tokens,
// because callers present only signature-verified tokens, and every token
// the server signed for the family was once its current token: one that
// is neither current nor previous was consumed (or replaced by a grace
// retry) long ago.
type family struct {
	store.Family
	revoked bool
	// current is the only token of the family that may rotate normally.
	current store.RefreshToken
	// previous is the ID of the token current replaced at rotatedAt
	// ("" before the first rotation); only it qualifies for the grace
	// window and for an exact repeat.
	previous  string
	rotatedAt time.Time
}

// cutoff is a subject-wide revocation: tokens issued and families created
// before at are revoked. It is kept until expires.
type cutoff struct {
	at      time.Time
	expires time.Time
}

// New returns an empty Store.
func New() *Store {
	s := &Store{}
	s.init()
	return s
}

// init allocates the maps of a zero Store. Callers hold s.mu (or own s
// exclusively).
func (s *Store) init() {
	if s.users != nil {
		return
	}
	s.users = make(map[string]*store.User)
	s.usernames = make(map[string]string)
	s.families = make(map[string]*family)
	s.bySubject = make(map[string]map[string]*family)
	s.denylist = make(map[string]time.Time)
	s.subjectCut = make(map[string]cutoff)
}

// lock checks ctx, then locks s. On success the caller must call s.mu.Unlock.
func (s *Store) lock(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.init()
	return nil
}

// ctxErr returns an error wrapping both store.ErrUnavailable and ctx.Err()
// when ctx is done, and nil otherwise.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Errors for calls that break the contract's preconditions. They are
// caller bugs, not outcomes to branch on, so they are not exported.
var (
	errEmptyUserKey  = errors.New("memstore: user ID and username must not be empty")
	errBadFamily     = errors.New("memstore: family needs an ID and a subject, and its first token an ID in that family and subject")
	errBadSuccessor  = errors.New("memstore: successor needs an ID and the presented token's family and subject")
	errEmptyTokenID  = errors.New("memstore: token ID must not be empty")
	errEmptySubject  = errors.New("memstore: subject must not be empty")
	errNegativeLimit = errors.New("memstore: negative sweep limit")
)

// copyUser returns u with its own Scopes and Profile.
func copyUser(u store.User) store.User {
	u.Scopes = slices.Clone(u.Scopes)
	u.Profile = maps.Clone(u.Profile)
	return u
}

// AddUser stores u; it is [Store.CreateUser] without a context, for seeding
// a store in tests and examples.
func (s *Store) AddUser(u store.User) error {
	return s.CreateUser(context.Background(), u)
}

// CreateUser stores a copy of u. The caller provides u.ID; an empty ID or
// username is refused. It returns an error wrapping [store.ErrExists] when
// the ID or the username is taken.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if u.ID == "" || u.Username == "" {
		return errEmptyUserKey
	}
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("memstore: user ID taken: %w", store.ErrExists)
	}
	if _, ok := s.usernames[u.Username]; ok {
		return fmt.Errorf("memstore: username taken: %w", store.ErrExists)
	}
	c := copyUser(u)
	s.users[u.ID] = &c
	s.usernames[u.Username] = u.ID
	return nil
}

// SetPasswordHash replaces the password hash of user id. It returns an
// error wrapping [store.ErrNotFound] for an unknown id.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("memstore: user: %w", store.ErrNotFound)
	}
	u.PasswordHash = hash
	return nil
}

// CompareAndSwapPasswordHash replaces the password hash of user id with
// new if it is old, and reports whether it did.
func (s *Store) CompareAndSwapPasswordHash(ctx context.Context, id, old, new string) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok || u.PasswordHash != old {
		return false, nil
	}
	u.PasswordHash = new
	return true, nil
}

// UserByUsername returns a copy of the user whose username is exactly
// username (no case folding). It returns an error wrapping
// [store.ErrNotFound] for an unknown username.
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.usernames[username]
	if !ok {
		return store.User{}, fmt.Errorf("memstore: user: %w", store.ErrNotFound)
	}
	return copyUser(*s.users[id]), nil
}

// UserByID returns a copy of the user id. It returns an error wrapping
// [store.ErrNotFound] for an unknown id.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	if err := s.lock(ctx); err != nil {
		return store.User{}, err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return store.User{}, fmt.Errorf("memstore: user: %w", store.ErrNotFound)
	}
	return copyUser(*u), nil
}

// CreateFamily starts family f with its first token, whose expiry is
// clamped to f.ExpiresAt. first must belong to f (same family ID and
// subject). It returns an error wrapping [store.ErrExists] if the family ID
// is taken. (Token IDs are random and unique per family; the store keeps
// no index of them across families.) A family dated before the subject's
// cut-off is stored revoked: the cut-off covers it even though
// [Store.RevokeSubject] ran before it existed, and it stays revoked after
// the cut-off is swept.
func (s *Store) CreateFamily(ctx context.Context, f store.Family, first store.RefreshToken) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if f.ID == "" || f.Subject == "" || first.ID == "" || first.FamilyID != f.ID || first.Subject != f.Subject {
		return errBadFamily
	}
	if _, ok := s.families[f.ID]; ok {
		return fmt.Errorf("memstore: family ID taken: %w", store.ErrExists)
	}
	fam := &family{Family: f, current: clamp(first, f.ExpiresAt)}
	if c, ok := s.subjectCut[f.Subject]; ok && f.CreatedAt.Before(c.at) {
		fam.revoked = true
	}
	s.families[f.ID] = fam
	if s.bySubject[f.Subject] == nil {
		s.bySubject[f.Subject] = make(map[string]*family)
	}
	s.bySubject[f.Subject][f.ID] = fam
	return nil
}

// clamp returns t with its expiry no later than end.
func clamp(t store.RefreshToken, end time.Time) store.RefreshToken {
	if t.ExpiresAt.After(end) {
		t.ExpiresAt = end
	}
	return t
}

// Rotate consumes the token r.PresentedID and stores r.Next as the family's
// current token, atomically, and returns the stored successor (its expiry
// clamped to the family's). The family keeps only its current token and
// the ID of the one before it. The checks run in this order:
//
//  1. unknown family, or a family of another subject: [store.ErrNotFound];
//     nothing is created;
//  2. revoked family, or a family created before a subject cut-off (the
//     family is then marked revoked): [store.ErrRevoked];
//  3. r.Now at or after the family's expiry: [store.ErrExpired];
//  4. the presented token is not the current one. If it is the previous
//     one and r.Next is the current token, this is a repeat of the
//     successful rotation (a client resending after a lost reply): the
//     stored successor is returned again and nothing changes. Else, if
//     r.Grace > 0 and the token is the previous one: if r.Now is before
//     the rotation that consumed it, the request was delivered late,
//     after a retry that won, and nothing changes
//     ([store.ErrSuperseded]); if r.Now is at most r.Grace after that
//     rotation, this is a retry: the current token is replaced by
//     r.Next, and the window is not extended. Any other token (an older one, or one a retry replaced)
//     is reuse: the family is revoked and the error wraps
//     [store.ErrReused];
//  5. r.Now at or after the current token's expiry: [store.ErrExpired];
//  6. the current token becomes the previous one and r.Next the current.
//
// r.Next must carry an ID and r's family and subject; an r.Next.ID equal
// to the family's current or previous token yields an error wrapping
// [store.ErrExists] and changes nothing.
func (s *Store) Rotate(ctx context.Context, r store.Rotation) (store.RefreshToken, error) {
	if err := s.lock(ctx); err != nil {
		return store.RefreshToken{}, err
	}
	defer s.mu.Unlock()

	fam, ok := s.families[r.FamilyID]
	if !ok || fam.Subject != r.Subject || r.PresentedID == "" {
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh family: %w", store.ErrNotFound)
	}
	if r.Next.ID == "" || r.Next.FamilyID != r.FamilyID || r.Next.Subject != r.Subject {
		return store.RefreshToken{}, errBadSuccessor
	}
	if fam.revoked {
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh family: %w", store.ErrRevoked)
	}
	if c, ok := s.subjectCut[fam.Subject]; ok && fam.CreatedAt.Before(c.at) {
		fam.revoked = true
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh family revoked for subject: %w", store.ErrRevoked)
	}
	if !r.Now.Before(fam.ExpiresAt) {
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh family: %w", store.ErrExpired)
	}
	if r.PresentedID != fam.current.ID {
		previous := fam.previous != "" && r.PresentedID == fam.previous
		if previous && r.Next.ID == fam.current.ID {
			// The very rotation that produced the current token.
			return fam.current, nil
		}
		if previous && r.Grace > 0 && r.Now.Before(fam.rotatedAt) {
			return store.RefreshToken{}, fmt.Errorf("memstore: rotation older than the family's last: %w", store.ErrSuperseded)
		}
		if previous && r.Grace > 0 && r.Now.Sub(fam.rotatedAt) <= r.Grace {
			if fam.taken(r.Next.ID) {
				return store.RefreshToken{}, fmt.Errorf("memstore: successor token ID taken: %w", store.ErrExists)
			}
			fam.current = clamp(r.Next, fam.ExpiresAt)
			return fam.current, nil
		}
		fam.revoked = true
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh family revoked: %w", store.ErrReused)
	}
	if !r.Now.Before(fam.current.ExpiresAt) {
		return store.RefreshToken{}, fmt.Errorf("memstore: refresh token: %w", store.ErrExpired)
	}
	if fam.taken(r.Next.ID) {
		return store.RefreshToken{}, fmt.Errorf("memstore: successor token ID taken: %w", store.ErrExists)
	}
	fam.previous = fam.current.ID
	fam.current = clamp(r.Next, fam.ExpiresAt)
	fam.rotatedAt = r.Now
	return fam.current, nil
}

// taken reports whether id names the family's current or previous token.
func (f *family) taken(id string) bool {
	return id == f.current.ID || (f.previous != "" && id == f.previous)
}

// RevokeFamily revokes the family familyID of subject. An unknown family,
// or one of another subject, is left alone and is not an error.
func (s *Store) RevokeFamily(ctx context.Context, subject, familyID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if fam, ok := s.families[familyID]; ok && fam.Subject == subject {
		fam.revoked = true
	}
	return nil
}

// RevokeToken denylists the access token t by its jti (t.ID) until the
// given time; [Store.Sweep] removes the entry after it. Repeating it keeps
// the later of the two times. An empty t.ID is refused.
func (s *Store) RevokeToken(ctx context.Context, t store.TokenRef, until time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if t.ID == "" {
		return errEmptyTokenID
	}
	if old, ok := s.denylist[t.ID]; !ok || until.After(old) {
		s.denylist[t.ID] = until
	}
	return nil
}

// RevokeSubject revokes every token issued to subject before at, and every
// family of subject created before at. The cut-off only moves forward: an
// earlier at than a stored one keeps the stored cut-off. It is kept until
// at+maxAge (or longer, if an earlier call asked for longer). An empty
// subject is refused.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time, maxAge time.Duration) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if subject == "" {
		return errEmptySubject
	}
	c := cutoff{at: at, expires: at.Add(maxAge)}
	if old, ok := s.subjectCut[subject]; ok {
		if old.at.After(c.at) {
			c.at = old.at
		}
		if old.expires.After(c.expires) {
			c.expires = old.expires
		}
	}
	s.subjectCut[subject] = c
	for _, fam := range s.bySubject[subject] {
		if fam.CreatedAt.Before(c.at) {
			fam.revoked = true
		}
	}
	return nil
}

// IsRevoked reports whether the access token t is revoked:
//   - its jti (t.ID) is denylisted; or
//   - t.FamilyID names a family of t.Subject that is revoked or was
//     created before the subject's cut-off C; or
//   - t.Subject has a cut-off C and t.IssuedAt+1s <= C; or
//   - t.IssuedAt < C < t.IssuedAt+1s (iat has whole-second resolution, so
//     the token may predate C) and t.FamilyID does not name a family of
//     t.Subject created at or after C.
//
// A token whose family is unknown (for example swept) is not revoked by
// that alone. The rule is [store.TokenRevoked]'s; this method only looks
// the facts up.
func (s *Store) IsRevoked(ctx context.Context, t store.TokenRef) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	var facts store.RevocationFacts
	_, facts.Denylisted = s.denylist[t.ID]
	if t.FamilyID != "" {
		if fam, ok := s.families[t.FamilyID]; ok && fam.Subject == t.Subject {
			facts.FamilyFound, facts.FamilyRevoked, facts.FamilyCreatedAt = true, fam.revoked, fam.CreatedAt
		}
	}
	if c, ok := s.subjectCut[t.Subject]; ok {
		facts.HasCutoff, facts.Cutoff = true, c.at
	}
	return store.TokenRevoked(t, facts), nil
}

// Sweep deletes state that expired strictly before now: denylist entries
// past their until time, subject cut-offs past their keep time, and
// families past their absolute expiry together with all their token
// records. A live family is kept whole, whatever its tokens' expiry, since
// reuse detection needs it. It deletes at most limit records (a family
// and its tokens count as one; 0 means [DefaultSweepLimit]) and returns how
// many it deleted.
func (s *Store) Sweep(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if limit < 0 {
		return 0, errNegativeLimit
	}
	if limit == 0 {
		limit = DefaultSweepLimit
	}
	n := 0
	for id, until := range s.denylist {
		if n == limit {
			return n, nil
		}
		if until.Before(now) {
			delete(s.denylist, id)
			n++
		}
	}
	for sub, c := range s.subjectCut {
		if n == limit {
			return n, nil
		}
		if c.expires.Before(now) {
			delete(s.subjectCut, sub)
			n++
		}
	}
	for id, fam := range s.families {
		if n == limit {
			return n, nil
		}
		if fam.ExpiresAt.Before(now) {
			delete(s.families, id)
			if subFams := s.bySubject[fam.Subject]; subFams != nil {
				delete(subFams, id)
				if len(subFams) == 0 {
					delete(s.bySubject, fam.Subject)
				}
			}
			n++
		}
	}
	return n, nil
}
