package jwt

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	remoteMaxRedirects         = 3
	remoteMinRefreshInterval   = time.Second
	remoteDrainBytes           = 4 << 10
	remoteUserAgent            = "jwtkit"
	remoteAcceptedContentTypes = "application/jwk-set+json, application/json"
)

// RemoteKeySetConfig configures a [RemoteKeySet]. The zero value of every
// optional field is the strict choice.
type RemoteKeySetConfig struct {
	// URL is the issuer's JWKS endpoint (its jwks_uri). It must be an
	// absolute https URL, or http with AllowHTTP. Required.
	URL string
	// Algorithms lists the algorithms accepted from the set: RSA, EC or
	// EdDSA ones, of one family or several (as while an issuer moves from
	// RS256 to ES256); HMAC is refused, as a published key is never a
	// secret. A token of another algorithm is refused before any lookup
	// or fetch. A key whose alg is not listed is ignored. A key without
	// alg is bound to the algorithm when exactly one is listed, and
	// ignored otherwise. Default: RS256.
	Algorithms []Algorithm
	// HTTPClient makes the requests. It is copied, and the copy refuses
	// redirects to another origin (scheme, host and port) and follows at
	// most three. Default: a client of its own, with its own connection
	// pool.
	HTTPClient *http.Client
	// FetchTimeout bounds each fetch, whatever HTTPClient's own timeout.
	// Default: 5 s.
	FetchTimeout time.Duration
	// RefreshInterval is the time between periodic fetches. After a failed
	// fetch the next attempt comes sooner, with backoff from
	// UnknownKIDCooldown up to RefreshInterval. At least 1 s. Default:
	// 15 min.
	RefreshInterval time.Duration
	// UnknownKIDCooldown is the least time between a fetch and a fetch
	// caused by a token naming a kid the set does not hold: however many
	// such tokens arrive, the endpoint sees at most one extra request per
	// cooldown. Default: 30 s.
	UnknownKIDCooldown time.Duration
	// MaxBodyBytes caps the response body; a larger one fails the fetch.
	// Default: 1 MiB.
	MaxBodyBytes int64
	// MaxKeys caps the number of keys in the document; a larger set fails
	// the fetch. Default: 100.
	MaxKeys int
	// AllowHTTP permits a plain-http URL. Anyone on the network path of a
	// plain-http JWKS can substitute keys and so forge every token: use it
	// only for loopback addresses and tests, or inside a network you trust
	// completely. Default: false.
	AllowHTTP bool
	// Logger receives fetch failures (Warn), ignored keys (Warn, once per
	// new document) and key-set changes (Info). Default: slog.Default().
	Logger *slog.Logger
	// Now returns the current time, used for the unknown-kid cooldown and
	// the times in [RemoteKeySetStatus]. Timers use the runtime clock.
	// Default: time.Now.
	Now func() time.Time
}

// RemoteKeySet is a [KeySource] backed by a remote JSON Web Key Set, as
// published by an OpenID Connect provider or another issuer at its
// jwks_uri. Pass it as [VerifierConfig.Keys]; verification then works as
// with a local [KeySet].
//
// [NewRemoteKeySet] does no network I/O: a goroutine fetches the set at
// once and then every RefreshInterval. Until the first fetch has
// succeeded, a verification waits for a fetch in flight (as long as its
// context allows) and otherwise fails with [ErrNoKeys]; call
// [RemoteKeySet.Refresh] at start-up to wait for the keys, or to fail
// fast on a wrong URL. A token whose kid is not in the set causes a
// refetch, at most once per UnknownKIDCooldown, so a newly published key
// is picked up without waiting for the next periodic fetch.
//
// Fetches are never run in parallel: concurrent verifications share the
// fetch in flight. A fetch that fails (network error, status other than
// 200 or 304, body over MaxBodyBytes, more than MaxKeys keys, invalid
// JSON, no usable key) leaves the last good set in use, indefinitely.
//
// Keys the set publishes but jwtkit will not use are ignored, and
// recorded in [RemoteKeySet.Status] and the log: symmetric ("oct") keys,
// keys with "use" other than "sig" or key_ops without "verify", keys
// carrying private material, keys whose alg is not in Algorithms or does
// not fit their kty or crv, weak keys (RSA under 2048 bits), keys sharing
// a kid, and keys without kid in a set of several keys. Nothing in a token
// header (jku, x5u, jwk, x5c) ever causes a request.
//
// A RemoteKeySet is safe for concurrent use. Close stops its goroutines;
// the last fetched keys remain usable after Close.
type RemoteKeySet struct {
	url       string
	origin    string
	algs      []Algorithm
	client    *http.Client
	ownClient bool
	timeout   time.Duration
	interval  time.Duration
	cooldown  time.Duration
	maxBody   int64
	maxKeys   int
	log       *slog.Logger
	now       func() time.Time

	snap atomic.Pointer[keySnapshot]

	ctx    context.Context // lifetime of background work; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight *remoteFetch
	etag     string
	bodySum  [sha256.Size]byte
	status   RemoteKeySetStatus
}

// RemoteKeySetStatus describes the state of a [RemoteKeySet].
type RemoteKeySetStatus struct {
	// Fetches counts the fetch attempts so far.
	Fetches int
	// LastAttempt is when the last fetch started; zero before the first.
	LastAttempt time.Time
	// LastSuccess is when a fetch last produced or confirmed the key set.
	LastSuccess time.Time
	// LastError is the error of the last fetch, nil if it succeeded.
	LastError error
	// KeyIDs lists the kids of the keys in use.
	KeyIDs []string
	// Ignored lists the keys of the last fetched document that are not
	// used, with the reason.
	Ignored []IgnoredKey
}

// IgnoredKey is a key of a remote set that jwtkit does not use.
type IgnoredKey struct {
	KeyID string // the key's kid, "" if it has none
	// Reason says why, as an error wrapping ErrKeyMismatch (the key does
	// not fit the set's policy), ErrWeakKey or ErrConfig (a malformed
	// key, a kid shared by several keys, a key without kid among several).
	Reason error
}

// Reasons of ignored keys that concern the set rather than one key.
var (
	errSharedKID = fmt.Errorf("%w: several keys share this kid", ErrConfig)
	errNoKID     = fmt.Errorf("%w: a key without kid in a set of several keys", ErrConfig)
)

type remoteFetch struct {
	done chan struct{}
	err  error
}

var _ KeySource = (*RemoteKeySet)(nil)

// NewRemoteKeySet checks cfg, starts the background fetcher and returns.
// It does no network I/O itself and takes no context: the set's
// background work lives until [RemoteKeySet.Close]. Configuration errors
// wrap [ErrConfig].
func NewRemoteKeySet(cfg RemoteKeySetConfig) (*RemoteKeySet, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: RemoteKeySetConfig.URL must be an absolute URL", ErrConfig)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !cfg.AllowHTTP {
			return nil, fmt.Errorf("%w: the JWKS URL must use https (set AllowHTTP for a loopback or test endpoint)", ErrConfig)
		}
	default:
		return nil, fmt.Errorf("%w: unsupported JWKS URL scheme %q", ErrConfig, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the JWKS URL are not supported; use HTTPClient", ErrConfig)
	}
	algs := slices.Clone(cfg.Algorithms)
	if len(algs) == 0 {
		algs = []Algorithm{RS256}
	}
	for _, a := range algs {
		if !a.valid() {
			return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrConfig, a)
		}
		if a.family() == familyHMAC {
			return nil, fmt.Errorf("%w: %s is an HMAC algorithm; a remote key set only holds public keys", ErrConfig, a)
		}
	}
	if cfg.FetchTimeout < 0 || cfg.RefreshInterval < 0 || cfg.UnknownKIDCooldown < 0 || cfg.MaxBodyBytes < 0 || cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("%w: negative RemoteKeySetConfig limit", ErrConfig)
	}
	r := &RemoteKeySet{
		url:      u.String(),
		origin:   remoteOrigin(u),
		algs:     algs,
		timeout:  cmp.Or(cfg.FetchTimeout, 5*time.Second),
		interval: cmp.Or(cfg.RefreshInterval, 15*time.Minute),
		cooldown: cmp.Or(cfg.UnknownKIDCooldown, 30*time.Second),
		maxBody:  cmp.Or(cfg.MaxBodyBytes, 1<<20),
		maxKeys:  cmp.Or(cfg.MaxKeys, maxJWKSKeys),
		log:      cfg.Logger,
		now:      cfg.Now,
	}
	if r.interval < remoteMinRefreshInterval {
		return nil, fmt.Errorf("%w: RefreshInterval must be at least %s", ErrConfig, remoteMinRefreshInterval)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.client = r.wrapClient(cfg.HTTPClient)
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// wrapClient copies c (or builds a client) and installs the redirect
// policy.
func (r *RemoteKeySet) wrapClient(c *http.Client) *http.Client {
	r.ownClient = c == nil
	return sameOriginClient(c, r.origin, r.timeout, "JWKS fetch")
}

// remoteOrigin returns scheme://host:port with the default port made
// explicit and the host in lower case.
func remoteOrigin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Close stops the background fetcher and waits for a fetch in flight to
// end. It is idempotent and always returns nil. Keys fetched before Close
// stay usable; no fetch happens afterwards.
func (r *RemoteKeySet) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	if r.ownClient {
		r.client.CloseIdleConnections()
	}
	return nil
}

// Refresh fetches the set now, or waits for the fetch in flight, and
// returns its error (or ctx's, if ctx ends first). It ignores the
// unknown-kid cooldown: use it at start-up or from an administrative
// action, not per request.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	f := r.startFetch(true)
	if f == nil {
		return fmt.Errorf("%w: the remote key set is closed", ErrNoKeys)
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status reports the fetcher's state.
func (r *RemoteKeySet) Status() RemoteKeySetStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	st.KeyIDs = slices.Clone(st.KeyIDs)
	st.Ignored = slices.Clone(st.Ignored)
	return st
}

func (r *RemoteKeySet) built() error {
	if r == nil || r.ctx == nil {
		return fmt.Errorf("%w: the RemoteKeySet is nil or its zero value; build it with NewRemoteKeySet", ErrConfig)
	}
	return nil
}

func (r *RemoteKeySet) accepts(alg Algorithm) bool {
	return r != nil && slices.Contains(r.algs, alg)
}

func (r *RemoteKeySet) holds(kid string) bool {
	snap := r.snap.Load()
	return snap != nil && snap.byID[kid] != nil
}

func (r *RemoteKeySet) verificationKey(ctx context.Context, kid string, hasKID bool) (*Key, error) {
	if r == nil {
		return nil, fail(ErrNoKeys, "nil remote key set")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	snap := r.snap.Load()
	if snap != nil {
		k, err := snap.lookup(kid, hasKID)
		if err == nil || !hasKID {
			// A token without kid matches only a set of one key; a
			// refetch would not change that.
			return k, err
		}
	}
	miss := ErrUnknownKey
	if snap == nil {
		miss = ErrNoKeys
	}
	f := r.startFetch(false)
	if f == nil {
		if cur := r.snap.Load(); cur != snap {
			// A fetch finished since snap was loaded.
			return cur.lookup(kid, hasKID)
		}
		if snap == nil {
			return nil, r.noKeysError()
		}
		return nil, fail(ErrUnknownKey, "no key with this kid")
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, &verifyError{sentinel: miss, detail: "waiting for the key set", cause: ctx.Err()}
	}
	if snap = r.snap.Load(); snap == nil {
		return nil, r.noKeysError()
	}
	return snap.lookup(kid, hasKID)
}

func (r *RemoteKeySet) noKeysError() error {
	r.mu.Lock()
	last := r.status.LastError
	r.mu.Unlock()
	e := &verifyError{sentinel: ErrNoKeys, detail: "the JWKS has not been fetched"}
	if last != nil {
		// The text only: the fetch error's chain (ErrConfig for a bad
		// document, say) is not a verification outcome.
		e.cause = errors.New(last.Error())
	}
	return e
}

// startFetch returns the fetch in flight or starts one. Without force, a
// new fetch starts only when the cooldown since the last attempt has
// passed; otherwise startFetch returns nil. It returns nil after Close.
func (r *RemoteKeySet) startFetch(force bool) *remoteFetch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if r.inflight != nil {
		return r.inflight
	}
	now := r.now()
	if !force && !r.status.LastAttempt.IsZero() && now.Sub(r.status.LastAttempt) < r.cooldown {
		return nil
	}
	f := &remoteFetch{done: make(chan struct{})}
	r.inflight = f
	r.status.LastAttempt = now
	r.status.Fetches++
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.fetch()
		r.mu.Lock()
		f.err = err
		r.inflight = nil
		r.status.LastError = err
		if err == nil {
			r.status.LastSuccess = r.now()
		}
		r.mu.Unlock()
		close(f.done)
	}()
	return f
}

// run is the periodic refresher.
func (r *RemoteKeySet) run() {
	defer r.wg.Done()
	failures := 0
	for {
		f := r.startFetch(true)
		if f == nil {
			return
		}
		select {
		case <-f.done:
		case <-r.ctx.Done():
			return
		}
		wait := r.interval
		if f.err != nil {
			failures++
			wait = r.cooldown << min(failures-1, 16)
			if wait > r.interval || wait <= 0 {
				wait = r.interval
			}
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return
		}
	}
}

// fetch downloads, parses and installs the key set.
func (r *RemoteKeySet) fetch() (err error) {
	defer func() {
		if err != nil {
			r.log.Warn("jwt: JWKS fetch failed; keeping the last good key set", "url", r.url, "err", err)
		}
	}()
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return fmt.Errorf("jwt: JWKS fetch: %w", err)
	}
	req.Header.Set("Accept", remoteAcceptedContentTypes)
	req.Header.Set("User-Agent", remoteUserAgent)
	r.mu.Lock()
	etag := r.etag
	r.mu.Unlock()
	haveKeys := r.snap.Load() != nil
	if etag != "" && haveKeys {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("jwt: JWKS fetch: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && haveKeys && etag != "":
		return nil
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, remoteDrainBytes))
		return fmt.Errorf("jwt: JWKS fetch: status %d", resp.StatusCode)
	case resp.ContentLength > r.maxBody:
		return fmt.Errorf("jwt: JWKS fetch: body of %d bytes exceeds the limit of %d", resp.ContentLength, r.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return fmt.Errorf("jwt: JWKS fetch: reading the body: %w", err)
	}
	if int64(len(body)) > r.maxBody {
		return fmt.Errorf("jwt: JWKS fetch: body exceeds the limit of %d bytes", r.maxBody)
	}
	sum := sha256.Sum256(body)
	r.mu.Lock()
	unchanged := haveKeys && sum == r.bodySum
	r.mu.Unlock()
	if unchanged {
		r.setETag(resp.Header.Get("ETag"))
		return nil
	}
	keys, ignored, err := r.parse(body)
	if err != nil {
		r.mu.Lock()
		r.status.Ignored = ignored
		r.mu.Unlock()
		for _, ig := range ignored {
			r.log.Warn("jwt: JWKS key ignored", "url", r.url, "kid", ig.KeyID, "reason", ig.Reason)
		}
		return err
	}
	snap, err := newSnapshot(nil, nil, keys)
	if err != nil {
		return fmt.Errorf("jwt: JWKS: %w", err)
	}
	r.snap.Store(snap)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	r.mu.Lock()
	r.bodySum = sum
	r.etag = resp.Header.Get("ETag")
	r.status.KeyIDs = ids
	r.status.Ignored = ignored
	r.mu.Unlock()
	for _, ig := range ignored {
		r.log.Warn("jwt: JWKS key ignored", "url", r.url, "kid", ig.KeyID, "reason", ig.Reason)
	}
	r.log.Info("jwt: JWKS key set updated", "url", r.url, "kids", ids)
	return nil
}

func (r *RemoteKeySet) setETag(etag string) {
	r.mu.Lock()
	r.etag = etag
	r.mu.Unlock()
}

// parse applies the remote key policy to a JWKS document. It fails only
// when the document as a whole is unusable.
func (r *RemoteKeySet) parse(body []byte) ([]*Key, []IgnoredKey, error) {
	raws, err := readJWKSDoc(body, r.maxKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("jwt: JWKS: %w", err)
	}
	policy := jwkPolicy{algs: r.algs, optionalKID: true, publicOnly: true}
	var keys []*Key
	var ignored []IgnoredKey
	count := map[string]int{}
	for _, raw := range raws {
		f, err := readJWK(raw)
		if err != nil {
			ignored = append(ignored, IgnoredKey{Reason: err})
			continue
		}
		k, err := f.toKey(policy)
		if err != nil {
			ignored = append(ignored, IgnoredKey{KeyID: f.kid, Reason: err})
			continue
		}
		keys = append(keys, k)
		count[k.id]++
	}
	keys = slices.DeleteFunc(keys, func(k *Key) bool {
		if count[k.id] > 1 && k.id != "" {
			ignored = append(ignored, IgnoredKey{KeyID: k.id, Reason: errSharedKID})
			return true
		}
		return false
	})
	if len(keys) > 1 {
		keys = slices.DeleteFunc(keys, func(k *Key) bool {
			if k.id == "" {
				ignored = append(ignored, IgnoredKey{Reason: errNoKID})
				return true
			}
			return false
		})
	}
	if len(keys) == 0 {
		return nil, ignored, fmt.Errorf("%w: the JWKS holds no usable key (%d ignored)", ErrNoKeys, len(ignored))
	}
	return keys, ignored, nil
}
