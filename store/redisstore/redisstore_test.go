package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtkit/jwtkit/internal/redistest"
	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/redisstore"
	"github.com/jwtkit/jwtkit/store/storetest"
)

// sharedPoolSize lets the single-winner scenario's 50 goroutines each hold
// a connection.
const sharedPoolSize = 60

var (
	sharedMu     sync.Mutex
	sharedClient *redis.Client
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	if sharedClient != nil {
		sharedClient.Close()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// client returns the client shared by the tests of this package. An
// unreachable server skips the test, or fails it under CI.
func client(t testing.TB) *redis.Client {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedClient == nil {
		sharedClient = connect(t, sharedPoolSize, "")
	}
	return sharedClient
}

// connect opens a new client on the test server and checks it answers.
func connect(t testing.TB, poolSize int, name string) *redis.Client {
	t.Helper()
	url := testenv.RedisURL(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing %s: %v", testenv.RedisEnv, err)
	}
	opts.PoolSize = poolSize
	opts.ClientName = name
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		testenv.SkipOrFail(t, "Redis from %s is not usable: %v", testenv.RedisEnv, err)
	}
	return c
}

// newPrefix returns a fresh key prefix whose keys are deleted from c when
// t ends, after seen (if not nil) has been shown them.
func newPrefix(t testing.TB, c redis.UniversalClient, seen func(context.Context, []string)) string {
	t.Helper()
	prefix := "jwtkit_test_" + strings.ToLower(rand.Text()[:16])
	redistest.DeleteAtEnd(t, c, seen, prefix+":*")
	return prefix
}

// keysOf lists the keys under prefix, on every master of a cluster.
func keysOf(t testing.TB, ctx context.Context, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	keys, err := redistest.Keys(ctx, c, prefix+":*")
	if err != nil {
		t.Errorf("scanning %s: %v", prefix, err)
	}
	return keys
}

func newStore(t testing.TB) (*redisstore.Store, string) {
	t.Helper()
	return newStoreOn(t, client(t))
}

func newStoreOn(t testing.TB, c redis.UniversalClient) (*redisstore.Store, string) {
	t.Helper()
	prefix := newPrefix(t, c, nil)
	return mustNew(t, c, prefix), prefix
}

func mustNew(t testing.TB, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func factory(t *testing.T) storetest.Stores {
	s, prefix := newStore(t)
	return storetest.Stores{
		Refresh:     s,
		Revocations: s,
		Reopen: func(t *testing.T) storetest.Stores {
			// A new client on the same prefix: a restarted process.
			c := connect(t, 10, "")
			t.Cleanup(func() { c.Close() })
			s2 := mustNew(t, c, prefix)
			return storetest.Stores{Refresh: s2, Revocations: s2}
		},
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory)
}

// TestConformanceCluster runs the suite on a Redis Cluster, and checks
// that its keys landed on more than one master: the scripts' hash tags
// and IsRevoked's pipeline (denylist and subject keys in different slots)
// really crossed nodes.
func TestConformanceCluster(t *testing.T) {
	c := redistest.Cluster(t, sharedPoolSize)
	nodes := redistest.NewNodes(c)
	t.Cleanup(func() {
		if got := nodes.Masters(); len(got) < 2 {
			t.Errorf("the suite's keys landed on masters %q (%s); want at least two", got, nodes)
		} else {
			t.Logf("the suite's keys per master: %s", nodes)
		}
	})
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		prefix := newPrefix(t, c, func(ctx context.Context, keys []string) {
			if err := nodes.Add(ctx, keys); err != nil {
				t.Error(err)
			}
		})
		s := mustNew(t, c, prefix)
		return storetest.Stores{
			Refresh:     s,
			Revocations: s,
			Reopen: func(t *testing.T) storetest.Stores {
				s2 := mustNew(t, redistest.Cluster(t, 10), prefix)
				return storetest.Stores{Refresh: s2, Revocations: s2}
			},
		}
	})
}

// TestClusterSpreadsSubjects places the records of a dozen subjects on a
// Redis Cluster and checks where they land: every master holds some, each
// subject's keys share one node (one hash tag, so its scripts run), and
// some denylist entries live on another node than their subject's
// records, which IsRevoked then reads in one pipeline over two nodes.
func TestClusterSpreadsSubjects(t *testing.T) {
	c := redistest.Cluster(t, 10)
	s, prefix := newStoreOn(t, c)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	subjects := make([]string, 12)
	for i := range subjects {
		subjects[i] = "user-" + strconv.Itoa(i)
		tok := family(t, s, subjects[i], "fam", now)
		if _, err := rotate(t, s, tok, now.Add(time.Second)); err != nil {
			t.Fatalf("rotation for %s: %v", subjects[i], err)
		}
		if err := s.RevokeToken(ctx, store.TokenRef{ID: "jti-" + subjects[i], Subject: subjects[i], IssuedAt: now}, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Half the subjects revoked wholesale: a cut-off written next to
	// their families, read in the same pipeline as another node's jti.
	for _, sub := range subjects[:6] {
		if err := s.RevokeSubject(ctx, sub, now.Add(2*time.Second), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for i, sub := range subjects {
		for _, tc := range []struct {
			jti  string
			want bool
		}{{"jti-" + sub, true}, {"other", i < 6}} {
			ref := store.TokenRef{ID: tc.jti, Subject: sub, FamilyID: "fam", IssuedAt: now.Truncate(time.Second)}
			if got, err := s.IsRevoked(ctx, ref); err != nil || got != tc.want {
				t.Errorf("IsRevoked(%s, jti %s) = %v, %v; want %v", sub, tc.jti, got, err, tc.want)
			}
		}
	}

	master := func(key string) string {
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			t.Fatalf("master of %s: %v", key, err)
		}
		return m.Options().Addr
	}
	all := redistest.NewNodes(c)
	if err := all.Add(ctx, keysOf(t, ctx, c, prefix)); err != nil {
		t.Fatal(err)
	}
	masters, err := redistest.MasterCount(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := all.Masters(); len(got) != masters {
		t.Errorf("keys on masters %q (%s), want all %d masters", got, all, masters)
	}
	crossing := 0
	for _, sub := range subjects {
		keys := keysOf(t, ctx, c, prefix+":{"+store.TokenID(sub)[:22]+"}")
		if len(keys) < 2 { // family, horizon (and a cut-off)
			t.Fatalf("%d keys for subject %s, want at least 2", len(keys), sub)
		}
		home := master(keys[0])
		for _, k := range keys[1:] {
			if m := master(k); m != home {
				t.Errorf("subject %s: key %s on %s, others on %s", sub, k, m, home)
			}
		}
		if master(prefix+":jti:{"+store.TokenID("jti-"+sub)+"}") != home {
			crossing++
		}
	}
	if crossing == 0 {
		t.Error("every denylist entry lives with its subject's records: IsRevoked never crossed nodes")
	}
	t.Logf("keys per master: %s; %d of %d subjects' denylist entries on another node", all, crossing, len(subjects))
}

func TestNewValidatesPrefix(t *testing.T) {
	c := client(t)
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"jwtkit", true},
		{"app:auth", true},
		{"a.b-c_d", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"{tag}", false},
		{"a}", false},
		{"a*", false},
		{"a?", false},
		{"a[b]", false},
		{"a b", false},
		{"a\r\nb", false},
		{"préfixe", false},
	} {
		_, err := redisstore.New(c, redisstore.Config{Prefix: tc.prefix})
		if (err == nil) != tc.ok {
			t.Errorf("New(Prefix: %q) error = %v, want ok=%v", tc.prefix, err, tc.ok)
		}
	}
	if _, err := redisstore.New(nil, redisstore.Config{}); err == nil {
		t.Error("New(nil client) succeeded")
	}
	if _, err := redisstore.New(c, redisstore.Config{WaitAOFTimeout: -time.Second}); err == nil {
		t.Error("New with a negative WaitAOFTimeout succeeded")
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := redisstore.New(ring, redisstore.Config{WaitAOF: true}); err == nil {
		t.Error("New(Ring, WaitAOF) succeeded; the wait cannot be pinned to the writing connection")
	}
	if _, err := redisstore.New(ring, redisstore.Config{}); err != nil {
		t.Errorf("New(Ring) without WaitAOF: %v", err)
	}
}

// family creates a family of subject with one token and returns the token.
func family(t *testing.T, s *redisstore.Store, subject, familyID string, now time.Time) store.RefreshToken {
	t.Helper()
	f := store.Family{ID: familyID, Subject: subject, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	tok := store.RefreshToken{ID: store.TokenID(rand.Text()), FamilyID: familyID, Subject: subject, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(t.Context(), f, tok); err != nil {
		t.Fatalf("CreateFamily(%q, %q): %v", subject, familyID, err)
	}
	return tok
}

func rotate(t *testing.T, s *redisstore.Store, tok store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	t.Helper()
	next := store.RefreshToken{ID: store.TokenID(rand.Text()), FamilyID: tok.FamilyID, Subject: tok.Subject, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	return s.Rotate(t.Context(), store.Rotation{PresentedID: tok.ID, Subject: tok.Subject, FamilyID: tok.FamilyID, Next: next, Now: now})
}

// keyPattern is the only shape a key may have: the prefix, a hash tag of
// base64url characters, a kind, and a base64url hash. No byte of a
// subject, family ID, token ID or jti appears in a key.
var keyPattern = regexp.MustCompile(`^:(\{[A-Za-z0-9_-]{22}\}:(fam:[A-Za-z0-9_-]{43}|tok:[A-Za-z0-9_-]{43}|cut|horizon)|\{revlog\}|jti:\{[A-Za-z0-9_-]{43}\})$`)

func TestS03_KeyInjection(t *testing.T) {
	s, prefix := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)

	// Pairs whose naive concatenation "subject:family" would collide.
	pairs := []struct{ subject, familyID string }{
		{"a:b", "c"},
		{"a", "b:c"},
		{"a:b:c", ""},
	}
	toks := make([]store.RefreshToken, 0, len(pairs))
	for _, p := range pairs {
		if p.familyID == "" {
			continue
		}
		toks = append(toks, family(t, s, p.subject, p.familyID, now))
	}
	if err := s.RevokeFamily(ctx, "a:b", "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := rotate(t, s, toks[0], now.Add(time.Second)); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("rotation in the revoked family (a:b, c): %v, want ErrRevoked", err)
	}
	if _, err := rotate(t, s, toks[1], now.Add(time.Second)); err != nil {
		t.Errorf("rotation in family (a, b:c) after revoking (a:b, c): %v, want success", err)
	}
	// A subject-wide revocation of "a:b" leaves "a" alone, and "a*" does
	// not match anything as a pattern.
	for _, sub := range []string{"a:b", "a*", "*"} {
		if err := s.RevokeSubject(ctx, sub, now.Add(time.Minute), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	ref := store.TokenRef{ID: "jti-1", Subject: "a", FamilyID: "b:c", IssuedAt: now.Truncate(time.Second)}
	if got, err := s.IsRevoked(ctx, ref); err != nil || got {
		t.Errorf("IsRevoked for subject a after revoking a:b, a*, * = %v, %v; want false", got, err)
	}

	// Hostile identifiers round-trip and never reach a key.
	hostile := []string{"}", "{", "{x}", "*", "?", "[a]", "a b", "x\r\nDEL *", "\x00", "\xff", strings.Repeat("z", 10000), ""}
	for _, h := range hostile {
		sub, fam := "sub"+h, "fam"+h
		tok := family(t, s, sub, fam, now)
		next, err := rotate(t, s, tok, now.Add(time.Second))
		if err != nil {
			t.Errorf("rotation for subject %q: %v", short(sub), err)
			continue
		}
		jti := h
		if h == "" {
			if err := s.RevokeToken(ctx, store.TokenRef{ID: "", Subject: sub}, now.Add(time.Hour)); err == nil {
				t.Error("RevokeToken with an empty jti succeeded")
			}
			jti = "-"
		}
		if err := s.RevokeToken(ctx, store.TokenRef{ID: jti, Subject: sub}, now.Add(time.Hour)); err != nil {
			t.Errorf("RevokeToken(jti %q): %v", short(jti), err)
		}
		if err := s.RevokeSubject(ctx, sub, now.Add(-time.Hour), time.Hour); err != nil {
			t.Errorf("RevokeSubject(%q): %v", short(sub), err)
		}
		if got, err := s.IsRevoked(ctx, store.TokenRef{ID: jti, Subject: sub, FamilyID: fam, IssuedAt: now}); err != nil || !got {
			t.Errorf("IsRevoked(jti %q) = %v, %v; want true", short(jti), got, err)
		}
		if got, err := s.IsRevoked(ctx, store.TokenRef{ID: jti + "x", Subject: sub, FamilyID: fam, IssuedAt: now}); err != nil || got {
			t.Errorf("IsRevoked(jti %q) = %v, %v; want false", short(jti+"x"), got, err)
		}
		if _, err := rotate(t, s, next, now.Add(2*time.Second)); err != nil {
			t.Errorf("second rotation for subject %q: %v", short(sub), err)
		}
	}

	keys := keysOf(t, ctx, client(t), prefix)
	if len(keys) == 0 {
		t.Fatal("no keys written")
	}
	tags := make(map[string]bool)
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+":") || !keyPattern.MatchString(k[len(prefix):]) {
			t.Errorf("key %q does not have the expected shape", short(k))
		}
		if strings.ContainsAny(k[len(prefix):], " *?[]\r\n\x00") || strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
			t.Errorf("key %q contains a special character", short(k))
		}
		tags[k[strings.Index(k, "{"):strings.Index(k, "}")+1]] = true
	}
	// Keys of one subject share one tag: one per subject (each distinct),
	// plus one per jti.
	if len(tags) < len(hostile)+2 {
		t.Errorf("%d distinct hash tags, want at least %d", len(tags), len(hostile)+2)
	}
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// pttls returns the TTL of every key of prefix whose kind (":fam:",
// ":tok:", ":cut", ":jti:") matches.
func pttls(t *testing.T, prefix, kind string) []time.Duration {
	t.Helper()
	c := client(t)
	var out []time.Duration
	for _, k := range keysOf(t, t.Context(), c, prefix) {
		if !strings.Contains(k, kind) {
			continue
		}
		d, err := c.PTTL(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func within(d, want, tolerance time.Duration) bool {
	return d >= want-tolerance && d <= want+tolerance
}

func TestTTLs(t *testing.T) {
	// Every key outlives its record by the verifiers' largest leeway plus
	// a minute of clock skew: revocation records must outlive the access
	// tokens a verifier still accepts within its leeway.
	const margin = jwt.MaxLeeway + time.Minute
	const tol = 5 * time.Second
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)

	t.Run("Family", func(t *testing.T) {
		s, prefix := newStore(t)
		life := 2 * time.Hour
		f := store.Family{ID: "f", Subject: "s", CreatedAt: now, ExpiresAt: now.Add(life)}
		tok := store.RefreshToken{ID: "t1", FamilyID: "f", Subject: "s", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateFamily(ctx, f, tok); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			next, err := rotate(t, s, tok, now.Add(time.Duration(i+1)*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			tok = next
		}
		// One key per session, however often it rotates.
		fam := pttls(t, prefix, ":fam:")
		toks := pttls(t, prefix, ":tok:")
		if len(fam) != 1 || len(toks) != 0 {
			t.Fatalf("%d family keys and %d token keys, want 1 and 0", len(fam), len(toks))
		}
		// The family lives until its end plus the margin: reuse detection
		// needs it until then.
		for _, d := range fam {
			if !within(d, life+margin, tol) {
				t.Errorf("PTTL %v, want about %v", d, life+margin)
			}
		}
	})

	t.Run("Denylist", func(t *testing.T) {
		s, prefix := newStore(t)
		ref := store.TokenRef{ID: "j", Subject: "s", IssuedAt: now}
		if err := s.RevokeToken(ctx, ref, now.Add(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// A repeated call with an earlier until does not shorten it.
		if err := s.RevokeToken(ctx, ref, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got := pttls(t, prefix, ":jti:")
		if len(got) != 1 || !within(got[0], 15*time.Minute+margin, tol) {
			t.Fatalf("denylist PTTL %v, want about %v", got, 15*time.Minute+margin)
		}
		// A later until extends it.
		if err := s.RevokeToken(ctx, ref, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := pttls(t, prefix, ":jti:"); len(got) != 1 || !within(got[0], time.Hour+margin, tol) {
			t.Fatalf("denylist PTTL %v, want about %v", got, time.Hour+margin)
		}
	})

	t.Run("Cutoff", func(t *testing.T) {
		s, prefix := newStore(t)
		if err := s.RevokeSubject(ctx, "s", now, 3*time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSubject(ctx, "s", now.Add(time.Second), time.Hour); err != nil {
			t.Fatal(err)
		}
		got := pttls(t, prefix, ":cut")
		if len(got) != 1 || !within(got[0], 3*time.Hour+margin, tol) {
			t.Fatalf("cut-off PTTL %v, want about %v (never shortened)", got, 3*time.Hour+margin)
		}
		// The raised cut-off is in force.
		ref := store.TokenRef{ID: "j", Subject: "s", IssuedAt: now.Truncate(time.Second)}
		if revoked, err := s.IsRevoked(ctx, ref); err != nil || !revoked {
			t.Errorf("IsRevoked before the raised cut-off = %v, %v; want true", revoked, err)
		}
	})

	t.Run("CutoffOutlivesTheFamiliesItRevokes", func(t *testing.T) {
		// Families created before a cut-off are revoked through it (no
		// key iteration), so the cut-off must live as long as they do,
		// even when maxAge is shorter.
		s, prefix := newStore(t)
		long := 24 * time.Hour
		f := store.Family{ID: "f", Subject: "s", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(long)}
		tok := store.RefreshToken{ID: "t1", FamilyID: "f", Subject: "s", IssuedAt: f.CreatedAt, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateFamily(ctx, f, tok); err != nil {
			t.Fatal(err)
		}
		family(t, s, "s", "short", now.Add(-time.Minute)) // one hour
		if err := s.RevokeSubject(ctx, "s", now, time.Minute); err != nil {
			t.Fatal(err)
		}
		cut := pttls(t, prefix, ":cut")
		fam := pttls(t, prefix, ":fam:")
		if len(cut) != 1 || len(fam) != 2 {
			t.Fatalf("%d cut-off keys and %d family keys, want 1 and 2", len(cut), len(fam))
		}
		// The family key lives for its span (created to expiry) plus the
		// margin; the cut-off at least as long.
		if want := f.ExpiresAt.Sub(f.CreatedAt) + margin; !within(cut[0], want, tol) || cut[0] < max(fam[0], fam[1])-tol {
			t.Fatalf("cut-off PTTL %v, want about %v and no less than the families' %v", cut[0], want, fam)
		}
		if _, err := rotate(t, s, tok, now.Add(time.Second)); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("rotation in a family created before the cut-off: %v, want ErrRevoked", err)
		}
	})

	t.Run("InjectedClockInThePast", func(t *testing.T) {
		// Times from an injected clock a year back: the keys still live
		// for the span the caller's times describe, instead of expiring
		// at once by the server's clock.
		s, prefix := newStore(t)
		past := now.AddDate(-1, 0, 0)
		tok := family(t, s, "s", "f", past)
		if err := s.RevokeToken(ctx, store.TokenRef{ID: "j", Subject: "s", IssuedAt: past}, past.Add(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate(t, s, tok, past.Add(time.Second)); err != nil {
			t.Fatalf("rotation with past times: %v", err)
		}
		if got, err := s.IsRevoked(ctx, store.TokenRef{ID: "j", Subject: "s", IssuedAt: past}); err != nil || !got {
			t.Fatalf("IsRevoked with past times = %v, %v; want true", got, err)
		}
		for _, d := range pttls(t, prefix, ":") {
			if d < 15*time.Minute {
				t.Errorf("PTTL %v, want at least the 15 minutes the caller's times span", d)
			}
		}
	})
}

func TestRotateRetryOfSuccessfulRotation(t *testing.T) {
	// go-redis re-sends a script after a network error; if the first
	// attempt ran, the retry must get the same answer, not ErrReused.
	s, _ := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	rt1 := family(t, s, "sub", "fam", now)
	r := store.Rotation{PresentedID: rt1.ID, Subject: "sub", FamilyID: "fam", Now: now.Add(time.Second),
		Next: store.RefreshToken{ID: store.TokenID("2"), FamilyID: "fam", Subject: "sub", IssuedAt: now.Add(time.Second), ExpiresAt: now.Add(2 * time.Hour)}}
	first, err := s.Rotate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !first.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("successor expiry %s, want clamped to the family's %s", first.ExpiresAt, now.Add(time.Hour))
	}
	again, err := s.Rotate(ctx, r)
	if err != nil || !again.ExpiresAt.Equal(first.ExpiresAt) || again.ID != first.ID {
		t.Fatalf("repeated Rotate = %+v, %v; want %+v, nil", again, err, first)
	}
	r.Next.ID = store.TokenID("3")
	if _, err := s.Rotate(ctx, r); !errors.Is(err, store.ErrReused) {
		t.Fatalf("Rotate of rt1 with another successor: %v, want ErrReused", err)
	}
}

func TestS04_UnavailableIsNeverNotRevoked(t *testing.T) {
	testenv.RedisURL(t) // the same rules as the other tests
	closed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	closed.Close()
	cases := []struct {
		name     string
		client   redis.UniversalClient
		deadline time.Duration
		ctxErr   error
	}{
		{"ClosedClient", closed, 2 * time.Second, nil},
		{"WrongPort", redis.NewClient(&redis.Options{Addr: testenv.ClosedAddr(t)}), 3 * time.Second, nil},
		// go-redis applies ctx deadlines to socket I/O only with
		// ContextTimeoutEnabled (see the package documentation); no socket
		// timeouts of its own here, so only the context can end the calls.
		{"SilentServer", redis.NewClient(&redis.Options{Addr: testenv.SilentServer(t), ReadTimeout: -1, WriteTimeout: -1,
			ContextTimeoutEnabled: true}), 300 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.client.Close()
			s, err := redisstore.New(tc.client, redisstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			for name, err := range storetest.Unavailable(t, storetest.Stores{Refresh: s, Revocations: s}, tc.deadline, tc.ctxErr) {
				if errors.Is(err, redis.Nil) {
					t.Errorf("%s: %v wraps redis.Nil", name, err)
				}
			}
		})
	}
}

func TestS04_MissingKeysAreAnAnswer(t *testing.T) {
	// Nothing stored at all: every lookup's key is missing (GET answers
	// nil), and that is "not revoked", not an error.
	s, _ := newStore(t)
	for _, ref := range []store.TokenRef{
		{ID: "j", Subject: "s", IssuedAt: time.Now()},
		{ID: "j", Subject: "s", FamilyID: "f", IssuedAt: time.Now()},
	} {
		got, err := s.IsRevoked(t.Context(), ref)
		if err != nil || got {
			t.Errorf("IsRevoked(%+v) on an empty store = %v, %v; want false, nil", ref, got, err)
		}
	}
}

func TestR13_ConnectionKilled(t *testing.T) {
	// The store's connections are killed server-side between calls. Each
	// answer is then either right or an ErrUnavailable; never a wrong
	// "not revoked".
	name := "jwtkit_r13_" + strings.ToLower(rand.Text()[:12])
	c := connect(t, 4, name)
	defer c.Close()
	prefix := newPrefix(t, client(t), nil)
	s, err := redisstore.New(c, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ref := store.TokenRef{ID: "j", Subject: "s", IssuedAt: time.Now()}
	if err := s.RevokeToken(ctx, ref, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if n := killClients(t, name); n == 0 {
			t.Fatalf("round %d: no connection named %s to kill", i, name)
		}
		got, err := s.IsRevoked(ctx, ref)
		switch {
		case err == nil && got:
		case err != nil && errors.Is(err, store.ErrUnavailable):
			t.Logf("round %d: %v", i, err)
		default:
			t.Fatalf("round %d: IsRevoked after CLIENT KILL = %v, %v; want true or ErrUnavailable", i, got, err)
		}
	}
}

// killClients kills, from the shared client, every connection named name,
// and returns how many it killed.
func killClients(t *testing.T, name string) int {
	t.Helper()
	c := client(t)
	list, err := c.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		fields := strings.Fields(line)
		var id string
		named := false
		for _, f := range fields {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if f == "name="+name {
				named = true
			}
		}
		if named && id != "" {
			if err := c.ClientKillByFilter(t.Context(), "ID", id).Err(); err != nil {
				t.Fatalf("CLIENT KILL ID %s: %v", id, err)
			}
			n++
		}
	}
	return n
}

func TestWaitAOF(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	info, err := c.Info(ctx, "server", "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	supported := serverAtLeast(info, 7, 2) && strings.Contains(info, "aof_enabled:1")

	prefix := newPrefix(t, client(t), nil)
	s, err := redisstore.New(c, redisstore.Config{Prefix: prefix, WaitAOF: true, WaitAOFTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("New with WaitAOF: %v", err)
	}
	plain, err := redisstore.New(c, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.TokenRef{ID: "j", Subject: "s", IssuedAt: time.Now()}
	err = s.RevokeToken(ctx, ref, time.Now().Add(time.Hour))
	got, rerr := plain.IsRevoked(ctx, ref)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if supported {
		if err != nil || !got {
			t.Fatalf("RevokeToken with WaitAOF on a server with AOF: %v (revoked=%v), want success", err, got)
		}
		return
	}
	t.Logf("server without WAITAOF or AOF: %v", err)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "WaitAOF") {
		t.Fatalf("RevokeToken with WaitAOF on a server without it: %v, want ErrUnavailable naming WaitAOF", err)
	}
	if got {
		t.Fatal("the refused write was applied: the check must run before writing")
	}
	// Reads do not wait.
	if _, err := s.IsRevoked(ctx, ref); err != nil {
		t.Fatalf("IsRevoked with WaitAOF: %v", err)
	}
}

// serverAtLeast reports whether INFO text names a redis_version >= major.minor.
func serverAtLeast(info string, major, minor int) bool {
	m := versionPattern.FindStringSubmatch(info)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1]) // digits only: the pattern matched
	mi, _ := strconv.Atoi(m[2])
	return ma > major || ma == major && mi >= minor
}

var versionPattern = regexp.MustCompile(`redis_version:(\d+)\.(\d+)`)

func benchStores(b *testing.B) storetest.Stores {
	s, _ := newStore(b)
	return storetest.Stores{Refresh: s, Revocations: s}
}

func BenchmarkRotate(b *testing.B) {
	storetest.BenchmarkRotate(b, benchStores(b))
}

func BenchmarkIsRevoked(b *testing.B) {
	storetest.BenchmarkIsRevoked(b, benchStores(b))
}
