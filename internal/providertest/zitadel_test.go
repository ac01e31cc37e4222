package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/jwtkit/jwtkit/internal/testenv"
	"github.com/jwtkit/jwtkit/jwt"
)

// The zitadel/oidc example OpenID provider, a certified OpenID Connect
// implementation, runs in the test process on a loopback port with its
// example in-memory storage. Its clients are told to issue JWT access
// tokens (the example defaults to opaque ones); everything else —
// discovery document, JWKS, token endpoint, token contents, signing — is
// the provider's own.

const (
	webClient    = "web"
	webSecret    = "secret"
	webRedirect  = "https://client.example/callback"
	serviceUser  = "sid1"
	serviceToken = "verysecret"
	userPassword = "verysecure"
)

// jwtStorage is the example storage with JWT access tokens for every
// client.
type jwtStorage struct{ *storage.Storage }

type jwtClient struct{ op.Client }

func (jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

func (s jwtStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return jwtClient{c}, nil
}

func (s jwtStorage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.Storage.ClientCredentials(ctx, id, secret)
	if err != nil {
		return nil, err
	}
	return jwtClient{c}, nil
}

// provider is a running OpenID provider.
type provider struct {
	issuer string
	meta   struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	client *http.Client // follows no redirects
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testenv.SkipOrFail(t, "the OpenID provider cannot listen on 127.0.0.1: %v", err)
	}
	p := &provider{issuer: "http://" + ln.Addr().String()}
	storage.RegisterClients(storage.WebClient(webClient, webSecret, webRedirect))
	users := storage.NewUserStore(p.issuer)
	router := exampleop.SetupServer(p.issuer, jwtStorage{storage.NewStorage(users)}, nil, false)
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	p.client = &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := p.client.Get(p.issuer + "/.well-known/openid-configuration")
	if err != nil {
		testenv.SkipOrFail(t, "the OpenID provider did not answer: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		testenv.SkipOrFail(t, "the OpenID provider's discovery document: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p.meta); err != nil || p.meta.TokenEndpoint == "" {
		testenv.SkipOrFail(t, "the OpenID provider's discovery document is unreadable: %v", err)
	}
	return p
}

// token posts form to the token endpoint and returns the access token.
func (p *provider) token(t *testing.T, form url.Values, user, pass string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: status %d: %s", resp.StatusCode, body)
	}
	if strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("the provider issued an opaque access token: %q", tok.AccessToken)
	}
	return tok.AccessToken
}

// clientCredentialsToken gets a token for the example's service user.
func (p *provider) clientCredentialsToken(t *testing.T, scope string) string {
	t.Helper()
	return p.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, serviceUser, serviceToken)
}

// userToken signs the example user in through the provider's own login
// form (authorization code flow) and redeems the code.
func (p *provider) userToken(t *testing.T, scope string) string {
	t.Helper()
	q := url.Values{
		"client_id": {webClient}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st-1"},
	}
	loc := p.follow(t, http.MethodGet, p.meta.AuthorizationEndpoint+"?"+q.Encode(), nil)
	lu, err := url.Parse(loc)
	if err != nil || lu.Query().Get("authRequestID") == "" {
		t.Fatalf("authorization endpoint redirected to %q", loc)
	}
	form := url.Values{
		"username": {"test-user@" + strings.Split(strings.TrimPrefix(p.issuer, "http://"), ":")[0]},
		"password": {userPassword}, "id": {lu.Query().Get("authRequestID")},
	}
	loc = p.follow(t, http.MethodPost, lu.String(), form)
	for !strings.HasPrefix(loc, webRedirect) {
		loc = p.follow(t, http.MethodGet, loc, nil)
	}
	cb, _ := url.Parse(loc)
	if cb.Query().Get("state") != "st-1" || cb.Query().Get("code") == "" {
		t.Fatalf("callback %q", loc)
	}
	return p.token(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {webRedirect},
	}, webClient, webSecret)
}

// follow makes one request, which must answer with a redirect, and
// returns the absolute redirect target.
func (p *provider) follow(t *testing.T, method, target string, form url.Values) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsAbs() {
		u = mustParse(t, p.issuer).ResolveReference(u)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || loc == "" {
		t.Fatalf("%s %s: status %d, no redirect: %s", method, u.Path, resp.StatusCode, b)
	}
	l, err := u.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return l.String()
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// discover builds jwtkit's key set from the provider's issuer URL alone.
func (p *provider) discover(t *testing.T) *jwt.RemoteKeySet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := jwt.DiscoverKeySet(ctx, p.issuer, jwt.RemoteKeySetConfig{AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return keys
}

// providerVerifier accepts the provider's access tokens: typ JWT,
// client_id and jti required, and aud as given.
func providerVerifier(t *testing.T, keys jwt.KeySource, issuer, audience string) *jwt.Verifier {
	t.Helper()
	v, err := jwt.NewVerifier(jwt.VerifierConfig{
		Keys: keys, Issuer: issuer, Audience: audience, AllowPlainJWT: true,
		Profile: jwt.AccessProfile{RequiredClaims: []string{"client_id", "jti"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestZitadel_ClientCredentialsTokenVerifies(t *testing.T) {
	p := startProvider(t)
	keys := p.discover(t)
	raw := p.clientCredentialsToken(t, "items.read items.write")
	c, err := providerVerifier(t, keys, p.issuer, serviceUser).VerifyAccess(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	// The provider's JWT access tokens carry no scope claim (it answers
	// scopes through introspection): no scope is granted.
	if c.Subject != serviceUser || len(c.Scopes) != 0 || c.Issuer != p.issuer || !slices.Equal(c.Audience, []string{serviceUser}) {
		t.Fatalf("claims %+v", c)
	}
	if id, _, err := jwt.Claim[string](c, "client_id"); err != nil || id != serviceUser {
		t.Fatalf("client_id %q, %v", id, err)
	}
}

func TestZitadel_UserTokenVerifies(t *testing.T) {
	p := startProvider(t)
	keys := p.discover(t)
	raw := p.userToken(t, "openid profile email")
	c, err := providerVerifier(t, keys, p.issuer, webClient).VerifyAccess(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "id1" || c.HasScope("openid") || !slices.Contains(c.Audience, webClient) {
		t.Fatalf("claims %+v", c)
	}
}

// The provider's tokens fail closed under jwtkit's defaults and under any
// other issuer or audience.
func TestZitadel_TokensRefusedOutsideTheirProfile(t *testing.T) {
	p := startProvider(t)
	keys := p.discover(t)
	raw := p.clientCredentialsToken(t, "items.read")
	ctx := context.Background()
	strict, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: keys, Issuer: p.issuer})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		v    *jwt.Verifier
		want error
	}{
		"typ JWT without AllowPlainJWT": {strict, jwt.ErrTokenUse},
		"another issuer":                {providerVerifier(t, keys, p.issuer+"/", serviceUser), jwt.ErrIssuer},
		"another audience":              {providerVerifier(t, keys, p.issuer, "other-api"), jwt.ErrAudience},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.v.VerifyAccess(ctx, raw); !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
	t.Run("altered claims", func(t *testing.T) {
		parts := strings.Split(raw, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		if _, err := providerVerifier(t, keys, p.issuer, serviceUser).VerifyAccess(ctx, strings.Join(parts, ".")); err == nil {
			t.Fatal("an altered token verified")
		}
	})
}

// A verifier built from a look-alike issuer URL is refused at discovery:
// the provider's document names its own issuer (RFC 8414 §3.3).
func TestZitadel_DiscoveryChecksIssuer(t *testing.T) {
	p := startProvider(t)
	lookalike := strings.Replace(p.issuer, "127.0.0.1", "localhost", 1)
	_, err := jwt.DiscoverKeySet(context.Background(), lookalike, jwt.RemoteKeySetConfig{AllowHTTP: true})
	if !errors.Is(err, jwt.ErrIssuer) {
		t.Fatalf("want ErrIssuer, got %v", err)
	}
}
