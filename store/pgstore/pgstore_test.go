package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/store"
	"github.com/jwtkit/jwtkit/store/pgstore"
	"github.com/jwtkit/jwtkit/store/storetest"
)

// sharedMaxConns sizes the pool shared by the tests: the single-winner
// scenario needs 50 connections rotating at once.
const sharedMaxConns = 60

var (
	sharedMu   sync.Mutex
	sharedPool *pgxpool.Pool
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	if sharedPool != nil {
		sharedPool.Close()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// pool returns the pool shared by the tests of this package, connecting
// on first use. An unreachable server skips the test, or fails it under CI.
func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedPool == nil {
		sharedPool = connect(t, sharedMaxConns, "")
	}
	return sharedPool
}

// connect opens a new pool on the test server and checks it answers.
func connect(t testing.TB, maxConns int32, appName string) *pgxpool.Pool {
	t.Helper()
	url := testenv.PostgresURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parsing %s: %v", testenv.PostgresEnv, err)
	}
	cfg.MaxConns = maxConns
	if appName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = appName
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = p.Ping(ctx)
		if err != nil {
			p.Close()
		}
	}
	if err != nil {
		testenv.SkipOrFail(t, "PostgreSQL from %s is not usable: %v", testenv.PostgresEnv, err)
	}
	return p
}

// newSchema returns a fresh schema name, dropped when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	name := "jwtkit_test_" + strings.ToLower(rand.Text()[:16])
	p := pool(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a migrated Store on a fresh schema of the shared pool.
func newStore(t testing.TB) (*pgstore.Store, string) {
	t.Helper()
	schema := newSchema(t)
	s, err := pgstore.New(pool(t), pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, schema
}

func stores(s *pgstore.Store) storetest.Stores {
	return storetest.Stores{Users: s, UserWriter: s, Refresh: s, Revocations: s, Sweeper: s}
}

func factory(t *testing.T) storetest.Stores {
	s, schema := newStore(t)
	st := stores(s)
	st.Reopen = func(t *testing.T) storetest.Stores {
		// A new pool on the same schema: a restarted process.
		p := connect(t, 10, "")
		t.Cleanup(p.Close)
		s2, err := pgstore.New(p, pgstore.Config{Schema: schema})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return stores(s2)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory)
}

func TestNewValidatesSchema(t *testing.T) {
	p := pool(t)
	for _, tc := range []struct {
		schema string
		ok     bool
	}{
		{"", true},
		{"jwtkit", true},
		{"_private", true},
		{"app_2", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"Jwtkit", false},
		{"2fa", false},
		{"a-b", false},
		{"a b", false},
		{`a"b`, false},
		{"a;DROP SCHEMA public", false},
		{"public.users", false},
		{"schéma", false},
	} {
		_, err := pgstore.New(p, pgstore.Config{Schema: tc.schema})
		if (err == nil) != tc.ok {
			t.Errorf("New(Schema: %q) error = %v, want ok=%v", tc.schema, err, tc.ok)
		}
	}
	if _, err := pgstore.New(nil, pgstore.Config{}); err == nil {
		t.Error("New(nil pool) succeeded")
	}
}

// migrationCount is the number of embedded steps, read from the source
// directory.
func migrationCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no migrations found")
	}
	return n
}

func TestMigrate_S05_ConcurrentAndIdempotent(t *testing.T) {
	schema := newSchema(t)
	p := pool(t)
	ctx := t.Context()
	const callers = 5
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			// Each caller is its own Store, as separate processes would be.
			s, err := pgstore.New(p, pgstore.Config{Schema: schema})
			if err != nil {
				errs[i] = err
				return
			}
			<-start
			errs[i] = s.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}

	versions := func() []int {
		t.Helper()
		rows, err := p.Query(ctx, `SELECT version FROM `+pgx.Identifier{schema, "schema_version"}.Sanitize()+` ORDER BY version`)
		if err != nil {
			t.Fatalf("reading schema_version: %v", err)
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatalf("reading schema_version: %v", err)
		}
		return vs
	}
	want := migrationCount(t)
	check := func(when string) {
		t.Helper()
		vs := versions()
		if len(vs) != want {
			t.Fatalf("%s: schema_version has %d rows %v, want one per migration (%d)", when, len(vs), vs, want)
		}
		for i, v := range vs {
			if v != i+1 {
				t.Fatalf("%s: schema_version = %v, want 1..%d", when, vs, want)
			}
		}
	}
	check("after concurrent Migrate")

	// Again: a no-op.
	s, err := pgstore.New(p, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	check("after second Migrate")

	// The tables exist in the schema and nowhere else.
	for _, table := range []string{"users", "refresh_families", "revoked_tokens", "subject_cutoffs"} {
		var n int
		err := p.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
			schema, table).Scan(&n)
		if err != nil || n != 1 {
			t.Errorf("table %s.%s: count %d, %v; want 1", schema, table, n, err)
		}
	}
	// The store works on the migrated schema.
	if err := s.RevokeToken(ctx, store.TokenRef{ID: "j", Subject: "s"}, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("RevokeToken on the migrated schema: %v", err)
	}
}

func TestMigrate_SchemasAreIsolated(t *testing.T) {
	a, _ := newStore(t)
	b, _ := newStore(t)
	ctx := t.Context()
	ref := store.TokenRef{ID: "jti-shared", Subject: "sub", IssuedAt: time.Now()}
	if err := a.RevokeToken(ctx, ref, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := a.IsRevoked(ctx, ref); err != nil || !got {
		t.Fatalf("IsRevoked in schema a = %v, %v; want true", got, err)
	}
	if got, err := b.IsRevoked(ctx, ref); err != nil || got {
		t.Fatalf("IsRevoked in schema b = %v, %v; want false (separate schema)", got, err)
	}
}

func TestCreateFamilyBeforeCutoffStoredRevoked(t *testing.T) {
	// Like memstore and redisstore, a family dated before its subject's
	// cut-off is stored revoked, not only judged revoked by comparing
	// times, so the stored flag never says otherwise.
	s, schema := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	if err := s.RevokeSubject(ctx, "sub", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id      string
		created time.Time
		want    bool
	}{
		{"before", now.Add(-time.Millisecond), true},
		{"at", now, false},
		{"after", now.Add(time.Millisecond), false},
	} {
		f := store.Family{ID: tc.id, Subject: "sub", CreatedAt: tc.created, ExpiresAt: now.Add(time.Hour)}
		first := store.RefreshToken{ID: store.TokenID(tc.id), FamilyID: f.ID, Subject: "sub", IssuedAt: tc.created, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateFamily(ctx, f, first); err != nil {
			t.Fatal(err)
		}
		var revoked bool
		q := `SELECT revoked FROM ` + pgx.Identifier{schema, "refresh_families"}.Sanitize() + ` WHERE id = $1`
		if err := pool(t).QueryRow(ctx, q, tc.id).Scan(&revoked); err != nil {
			t.Fatal(err)
		}
		if revoked != tc.want {
			t.Errorf("family created at cut-off%+v: stored revoked = %v, want %v", tc.created.Sub(now), revoked, tc.want)
		}
	}
}

func TestR12_StoredIdentifiersAreHashes(t *testing.T) {
	s, schema := newStore(t)
	ctx := t.Context()
	now := time.Now()
	const refreshJTI, accessJTI = "refresh-jti-secret", "access-jti-secret"
	f := store.Family{ID: "fam-1", Subject: "sub-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	first := store.RefreshToken{ID: store.TokenID(refreshJTI), FamilyID: f.ID, Subject: f.Subject, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(ctx, f, first); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, store.TokenRef{ID: accessJTI, Subject: "sub-1"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Dump every text column of every table as one string.
	var dump string
	q := `SELECT string_agg(t::text, E'\n') FROM (
			SELECT row_to_json(x)::text AS t FROM ` + pgx.Identifier{schema, "refresh_families"}.Sanitize() + ` x
			UNION ALL SELECT row_to_json(x)::text FROM ` + pgx.Identifier{schema, "revoked_tokens"}.Sanitize() + ` x
		) rows`
	if err := pool(t).QueryRow(ctx, q).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{refreshJTI, accessJTI} {
		if strings.Contains(dump, secret) {
			t.Errorf("stored rows contain the jti %q:\n%s", secret, dump)
		}
	}
	if !strings.Contains(dump, store.TokenID(accessJTI)) {
		t.Errorf("denylist does not hold the SHA-256 of the jti:\n%s", dump)
	}
}

func TestUnstorableStrings(t *testing.T) {
	// PostgreSQL text cannot hold NUL or invalid UTF-8. Lookups with such
	// values find nothing (no server error that would look like an
	// outage), and writes are refused without touching the server.
	s, _ := newStore(t)
	ctx := t.Context()
	for _, bad := range []string{"a\x00b", "\xff\xfe"} {
		if _, err := s.UserByUsername(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByUsername(%q): %v, want ErrNotFound", bad, err)
		}
		if _, err := s.UserByID(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(%q): %v, want ErrNotFound", bad, err)
		}
		if err := s.SetPasswordHash(ctx, bad, "h"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetPasswordHash(%q): %v, want ErrNotFound", bad, err)
		}
		err := s.CreateUser(ctx, store.User{ID: "u", Username: bad})
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("CreateUser(username %q): %v, want a validation error", bad, err)
		}
		got, err := s.IsRevoked(ctx, store.TokenRef{ID: bad, Subject: bad, FamilyID: bad, IssuedAt: time.Now()})
		if err != nil || got {
			t.Errorf("IsRevoked with %q = %v, %v; want false, nil", bad, got, err)
		}
		_, err = s.Rotate(ctx, store.Rotation{PresentedID: bad, Subject: bad, FamilyID: bad,
			Next: store.RefreshToken{ID: "n", Subject: bad, FamilyID: bad}, Now: time.Now()})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Rotate with %q: %v, want ErrNotFound", bad, err)
		}
		if err := s.RevokeFamily(ctx, bad, bad); err != nil {
			t.Errorf("RevokeFamily with %q: %v, want nil", bad, err)
		}
		// The jti is hashed, so any bytes are fine there.
		if err := s.RevokeToken(ctx, store.TokenRef{ID: bad, Subject: "s"}, time.Now().Add(time.Hour)); err != nil {
			t.Errorf("RevokeToken(jti %q): %v", bad, err)
		}
		if got, err := s.IsRevoked(ctx, store.TokenRef{ID: bad, Subject: "s"}); err != nil || !got {
			t.Errorf("IsRevoked(jti %q) = %v, %v; want true", bad, got, err)
		}
	}
}

func TestRotateRetryOfCommittedRotation(t *testing.T) {
	// A retry of the very same request (same successor ID) after a lost
	// reply gets the same answer; a different successor is reuse.
	s, _ := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	f := store.Family{ID: "fam", Subject: "sub", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	rt1 := store.RefreshToken{ID: store.TokenID("1"), FamilyID: "fam", Subject: "sub", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(ctx, f, rt1); err != nil {
		t.Fatal(err)
	}
	r := store.Rotation{PresentedID: rt1.ID, Subject: "sub", FamilyID: "fam", Now: now.Add(time.Second),
		Next: store.RefreshToken{ID: store.TokenID("2"), FamilyID: "fam", Subject: "sub", IssuedAt: now.Add(time.Second), ExpiresAt: now.Add(2 * time.Hour)}}
	first, err := s.Rotate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Rotate(ctx, r)
	if err != nil || again != first {
		t.Fatalf("repeated Rotate = %+v, %v; want %+v, nil", again, err, first)
	}
	if !again.ExpiresAt.Equal(f.ExpiresAt) {
		t.Errorf("successor expiry %s, want clamped to %s", again.ExpiresAt, f.ExpiresAt)
	}
	r.Next.ID = store.TokenID("3")
	if _, err := s.Rotate(ctx, r); !errors.Is(err, store.ErrReused) {
		t.Fatalf("Rotate of rt1 with another successor: %v, want ErrReused", err)
	}
}

func TestSweptCutoffLeavesFamiliesRevoked(t *testing.T) {
	// A family stored after RevokeSubject but dated before the cut-off is
	// refused through the cut-off; when the cut-off is swept, the family
	// must stay refused.
	s, _ := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	if err := s.RevokeSubject(ctx, "sub", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	f := store.Family{ID: "late", Subject: "sub", CreatedAt: now.Add(-time.Second), ExpiresAt: now.Add(24 * time.Hour)}
	rt1 := store.RefreshToken{ID: store.TokenID("1"), FamilyID: f.ID, Subject: "sub", IssuedAt: f.CreatedAt, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(ctx, f, rt1); err != nil {
		t.Fatal(err)
	}
	later := now.Add(10 * time.Minute)
	n, err := s.Sweep(ctx, later, 0)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the cut-off (1), nil", n, err)
	}
	r := store.Rotation{PresentedID: rt1.ID, Subject: "sub", FamilyID: f.ID, Now: later,
		Next: store.RefreshToken{ID: store.TokenID("2"), FamilyID: f.ID, Subject: "sub", IssuedAt: later, ExpiresAt: later.Add(time.Hour)}}
	if _, err := s.Rotate(ctx, r); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("Rotate after the cut-off was swept: %v, want ErrRevoked", err)
	}
	ref := store.TokenRef{ID: "jti", Subject: "sub", FamilyID: f.ID, IssuedAt: later.Truncate(time.Second)}
	if got, err := s.IsRevoked(ctx, ref); err != nil || !got {
		t.Fatalf("IsRevoked for the family's access token = %v, %v; want true", got, err)
	}
}

func TestR13_Unreachable(t *testing.T) {
	testenv.PostgresURL(t) // the same rules as the other tests
	cases := []struct {
		name     string
		addr     string
		deadline time.Duration
		ctxErr   error // the context error the failure must wrap, if any
	}{
		{"ClosedPort", testenv.ClosedAddr(t), 2 * time.Second, nil},
		{"SilentServer", testenv.SilentServer(t), 300 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig("postgres://postgres@" + tc.addr + "/test?sslmode=disable")
			if err != nil {
				t.Fatal(err)
			}
			p, err := pgxpool.NewWithConfig(t.Context(), cfg) // connects lazily
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			s, err := pgstore.New(p, pgstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			storetest.Unavailable(t, stores(s), tc.deadline, tc.ctxErr,
				storetest.Call{Name: "Migrate", Do: s.Migrate})
		})
	}
}

func TestR13_BackendTerminatedMidRotation(t *testing.T) {
	// A rotation waits on the family row lock (held by another
	// transaction) when its backend is terminated: the call fails with
	// ErrUnavailable, and nothing changed: the token still rotates.
	_, schema := newStore(t)
	app := "jwtkit_r13_" + strings.ToLower(rand.Text()[:12])
	victimPool := connect(t, 2, app)
	defer victimPool.Close()
	s, err := pgstore.New(victimPool, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	f := store.Family{ID: "fam", Subject: "sub", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	rt1 := store.RefreshToken{ID: store.TokenID("1"), FamilyID: "fam", Subject: "sub", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateFamily(ctx, f, rt1); err != nil {
		t.Fatal(err)
	}
	rotation := func(next string) store.Rotation {
		return store.Rotation{PresentedID: rt1.ID, Subject: "sub", FamilyID: "fam", Now: now.Add(time.Second),
			Next: store.RefreshToken{ID: store.TokenID(next), FamilyID: "fam", Subject: "sub", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
	}

	// Hold the family row lock.
	locker, err := pool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Rollback(context.Background())
	if _, err := locker.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "refresh_families"}.Sanitize()+` WHERE id = 'fam' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := s.Rotate(rctx, rotation("2"))
		done <- err
	}()

	// Wait until the rotation blocks on the lock, then kill its backend.
	var killed bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err := pool(t).QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&killed)
		if err != nil {
			t.Fatal(err)
		}
		if killed {
			break
		}
	}
	if !killed {
		t.Fatal("the rotation never blocked on the family lock")
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Rotate on a terminated backend: %v, want ErrUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Rotate did not return after its backend was terminated")
	}
	if err := locker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing was consumed: the token rotates now (the pool replaces the
	// dead connection).
	if _, err := s.Rotate(ctx, rotation("3")); err != nil {
		t.Fatalf("Rotate after the failed attempt: %v, want success", err)
	}
}

func benchStores(b *testing.B) storetest.Stores {
	s, _ := newStore(b)
	return stores(s)
}

func BenchmarkRotate(b *testing.B) {
	storetest.BenchmarkRotate(b, benchStores(b))
}

func BenchmarkIsRevoked(b *testing.B) {
	storetest.BenchmarkIsRevoked(b, benchStores(b))
}
