package jwt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The well-known suffixes of RFC 8414 §3 and OpenID Connect Discovery §4.
const (
	wellKnownOAuth  = "/.well-known/oauth-authorization-server"
	wellKnownOpenID = "/.well-known/openid-configuration"
)

// DiscoverKeySet builds a [RemoteKeySet] from an issuer identifier alone.
// It reads the issuer's authorization-server metadata, checks it, and
// returns a key set fetching the metadata's jwks_uri. Pass the same
// issuer as [VerifierConfig.Issuer].
//
// The metadata is requested first at the RFC 8414 §3 location (the
// well-known path inserted between host and path, so the issuer
// https://id.example/tenant is read from
// https://id.example/.well-known/oauth-authorization-server/tenant), and,
// if the answer there is not a usable document (a 404, a login page, a
// document without jwks_uri), at the OpenID Connect Discovery location
// (issuer + "/.well-known/openid-configuration"), which is all many
// identity providers publish. The document must be one JSON object whose
// issuer equals issuer byte for byte and whose jwks_uri is an absolute
// URL. A document naming another issuer ends discovery at once (RFC 8414
// §3.3: it is a misconfiguration or an impersonation attempt), as does a
// location that cannot be reached.
//
// cfg configures the returned key set as for [NewRemoteKeySet], except
// that cfg.URL must be empty: the URL comes from the metadata. The
// metadata requests follow cfg's rules too: https only unless AllowHTTP,
// redirects only within the issuer's origin and at most three, bodies up
// to MaxBodyBytes, each attempt bounded by FetchTimeout. The metadata is
// read once, here; the key set then refreshes the keys with its own
// caching, cooldown and stale-on-error policy.
//
// Failures to read or accept the metadata wrap [ErrDiscovery] (and
// [ErrIssuer] when the document names another issuer); an invalid issuer
// or cfg wraps [ErrConfig]. ctx bounds the metadata requests only.
func DiscoverKeySet(ctx context.Context, issuer string, cfg RemoteKeySetConfig) (*RemoteKeySet, error) {
	if cfg.URL != "" {
		return nil, fmt.Errorf("%w: RemoteKeySetConfig.URL must be empty; DiscoverKeySet takes it from the issuer's metadata", ErrConfig)
	}
	if cfg.FetchTimeout < 0 || cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: negative RemoteKeySetConfig limit", ErrConfig)
	}
	urls, origin, err := metadataURLs(issuer, cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	timeout := cmp.Or(cfg.FetchTimeout, 5*time.Second)
	client := sameOriginClient(cfg.HTTPClient, origin, timeout, "metadata fetch")
	if cfg.HTTPClient == nil {
		defer client.CloseIdleConnections()
	}
	maxBody := cmp.Or(cfg.MaxBodyBytes, 1<<20)
	var jwksURI string
	for _, u := range urls {
		var status int
		jwksURI, status, err = fetchMetadata(ctx, client, u, issuer, timeout, maxBody)
		if err == nil || status == 0 || errors.Is(err, ErrIssuer) {
			// Only an answer that is no usable document moves on to
			// the OpenID location; whatever it holds must pass the same
			// checks.
			break
		}
	}
	if err != nil {
		return nil, err
	}
	cfg.URL = jwksURI
	r, err := NewRemoteKeySet(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks_uri %q: %w", ErrDiscovery, jwksURI, err)
	}
	return r, nil
}

// metadataURLs checks an issuer identifier (RFC 8414 §2: a URL with no
// query or fragment) and returns the metadata locations to try, in order,
// and the issuer's origin.
func metadataURLs(issuer string, allowHTTP bool) ([]string, string, error) {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, "", fmt.Errorf("%w: the issuer must be an absolute URL", ErrConfig)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return nil, "", fmt.Errorf("%w: the issuer must use https (set AllowHTTP for a loopback or test issuer)", ErrConfig)
		}
	default:
		return nil, "", fmt.Errorf("%w: unsupported issuer scheme %q", ErrConfig, u.Scheme)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return nil, "", fmt.Errorf("%w: an issuer identifier has no query or fragment (RFC 8414 §2)", ErrConfig)
	}
	if u.User != nil {
		return nil, "", fmt.Errorf("%w: credentials in the issuer URL are not supported; use HTTPClient", ErrConfig)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	base := u.Scheme + "://" + u.Host
	return []string{
		base + wellKnownOAuth + path,
		base + path + wellKnownOpenID,
	}, remoteOrigin(u), nil
}

// sameOriginClient copies c (or builds a client with the given timeout)
// and refuses redirects to another origin, or more than
// remoteMaxRedirects of them: the policy of [RemoteKeySet].
func sameOriginClient(c *http.Client, origin string, timeout time.Duration, what string) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	} else {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			cl.Transport = t.Clone()
		}
		cl.Timeout = timeout
	}
	next := cl.CheckRedirect
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= remoteMaxRedirects {
			return fmt.Errorf("jwt: %s: more than %d redirects", what, remoteMaxRedirects)
		}
		if remoteOrigin(req.URL) != origin {
			return fmt.Errorf("jwt: %s: redirect to another origin refused", what)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cl
}

// fetchMetadata reads one metadata document and returns its jwks_uri. A
// non-zero status reports that the server answered, with that status.
func fetchMetadata(ctx context.Context, client *http.Client, u, issuer string, timeout time.Duration, maxBody int64) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", remoteUserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, remoteDrainBytes))
		return "", resp.StatusCode, fmt.Errorf("%w: %s: status %d", ErrDiscovery, u, resp.StatusCode)
	}
	if resp.ContentLength > maxBody {
		return "", resp.StatusCode, fmt.Errorf("%w: %s: body of %d bytes exceeds the limit of %d", ErrDiscovery, u, resp.ContentLength, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", resp.StatusCode, fmt.Errorf("%w: %s: reading the body: %w", ErrDiscovery, u, err)
	}
	if int64(len(body)) > maxBody {
		return "", resp.StatusCode, fmt.Errorf("%w: %s: body exceeds the limit of %d bytes", ErrDiscovery, u, maxBody)
	}
	md, err := parseMetadata(body)
	if err != nil {
		return "", resp.StatusCode, fmt.Errorf("%w: %s: %w", ErrDiscovery, u, err)
	}
	if md.Issuer != issuer {
		return "", resp.StatusCode, fmt.Errorf("%w: %w: %s names issuer %q, not %q", ErrDiscovery, ErrIssuer, u, md.Issuer, issuer)
	}
	if md.JWKSURI == "" {
		return "", resp.StatusCode, fmt.Errorf("%w: %s has no jwks_uri", ErrDiscovery, u)
	}
	if j, err := url.Parse(md.JWKSURI); err != nil || !j.IsAbs() || j.Host == "" {
		return "", resp.StatusCode, fmt.Errorf("%w: %s: jwks_uri is not an absolute URL", ErrDiscovery, u)
	}
	return md.JWKSURI, resp.StatusCode, nil
}

// metadata holds the members of an authorization-server metadata
// document that a verifier needs.
type metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// parseMetadata reads a metadata document: one JSON object, no member
// named twice (two readings of issuer are two answers to the §3.3 check),
// nothing after it, issuer and jwks_uri strings when present.
func parseMetadata(body []byte) (metadata, error) {
	var md metadata
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return md, errors.New("the metadata is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return md, errors.New("the metadata is not valid JSON")
		}
		name, _ := t.(string)
		if seen[name] {
			return md, fmt.Errorf("the metadata names %q twice", name)
		}
		seen[name] = true
		var dst any = new(json.RawMessage)
		switch name {
		case "issuer":
			dst = &md.Issuer
		case "jwks_uri":
			dst = &md.JWKSURI
		}
		if err := dec.Decode(dst); err != nil {
			return md, fmt.Errorf("the metadata member %q is invalid", name)
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return md, errors.New("the metadata is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return md, errors.New("data after the metadata object")
	}
	return md, nil
}
