package authserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DeviceCookieConfig turns on device cookies (OWASP, "Slow Down Online
// Guessing Attacks with Device Cookies"). After a successful password
// login the browser receives a signed cookie bound to the username; a
// later login of that account presenting it draws on a failure budget of
// its own (Login.Device), so an attacker guessing from elsewhere can lock
// the account's shared budget but not this browser out of it.
//
// The cookie proves only an earlier successful login, never an identity:
// it grants no access and skips no password check. It is bound to the
// account's password hash as well: after a password change every device
// cookie issued before it counts for nothing, so that someone who knew
// the old password keeps no budget of their own. One cookie is kept per
// browser, for the account that logged in last.
type DeviceCookieConfig struct {
	// Key signs the cookies: at least 32 random bytes, the same on every
	// instance, and not the key of any token. Required.
	Key []byte
	// Name is the cookie's name. Default: "__Host-jwtkit-device", a name
	// browsers accept only with Secure, Path=/ and no Domain, so that no
	// subdomain and no plain-http page can set it.
	Name string
	// MaxAge is how long a device stays known. Default: 180 days.
	MaxAge time.Duration
	// Insecure drops the Secure attribute (and the default name's
	// __Host- prefix) for plain-http development on loopback: requests to
	// any other host neither get nor present a device cookie.
	Insecure bool
}

const (
	defaultDeviceCookie = "__Host-jwtkit-device"
	// deviceLabel separates the cookie's MAC from any other use of Key.
	deviceLabel = "jwtkit device cookie v1"
)

// deviceCookies issues and checks device cookies.
type deviceCookies struct {
	key      []byte
	name     string
	maxAge   time.Duration
	insecure bool
	now      func() time.Time
}

func newDeviceCookies(c *DeviceCookieConfig, now func() time.Time) (*deviceCookies, error) {
	if c == nil {
		return nil, nil
	}
	if len(c.Key) < 32 {
		return nil, fmt.Errorf("%w: DeviceCookieConfig.Key needs at least 32 bytes", ErrConfig)
	}
	if c.MaxAge < 0 {
		return nil, fmt.Errorf("%w: negative DeviceCookieConfig.MaxAge", ErrConfig)
	}
	d := &deviceCookies{key: append([]byte(nil), c.Key...), name: c.Name, maxAge: c.MaxAge, insecure: c.Insecure, now: now}
	if d.maxAge == 0 {
		d.maxAge = 180 * 24 * time.Hour
	}
	if d.name == "" {
		d.name = defaultDeviceCookie
		if d.insecure {
			d.name = strings.TrimPrefix(defaultDeviceCookie, "__Host-")
		}
	}
	if d.insecure && (strings.HasPrefix(d.name, "__Host-") || strings.HasPrefix(d.name, "__Secure-")) {
		return nil, fmt.Errorf("%w: a __Host- or __Secure- cookie needs Secure; drop the prefix with Insecure", ErrConfig)
	}
	return d, nil
}

// mac signs a device ID, expiry, credential tag and username.
func (d *deviceCookies) mac(id, exp, cred, username string) []byte {
	m := hmac.New(sha256.New, d.key)
	for _, s := range []string{deviceLabel, id, exp, cred, username} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// credTag names the account's password hash in a cookie without revealing
// it: a cookie issued under another hash (before a password change) no
// longer vouches for its device.
func (d *deviceCookies) credTag(passwordHash string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(deviceLabel + " credential\x00" + passwordHash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// current reports whether cred, from a device cookie, names passwordHash.
func (d *deviceCookies) current(cred, passwordHash string) bool {
	return hmac.Equal([]byte(cred), []byte(d.credTag(passwordHash)))
}

// device returns the device ID and credential tag of r's device cookie
// when it is valid, unexpired and bound to username; "" otherwise. The
// caller checks the tag against the account's password hash once it has
// the account.
func (d *deviceCookies) device(r *http.Request, username string) (id, cred string) {
	if d == nil || (d.insecure && !loopbackHost(r.Host)) {
		return "", ""
	}
	c, err := r.Cookie(d.name)
	if err != nil || len(c.Value) > 200 {
		return "", ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		return "", ""
	}
	id, exp, cred, sig := parts[0], parts[1], parts[2], parts[3]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, d.mac(id, exp, cred, username)) {
		return "", ""
	}
	end, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !d.now().Before(time.Unix(end, 0)) {
		return "", ""
	}
	return id, cred
}

// issue sets a new device cookie for username, whose password hash is
// passwordHash, on the response w to r.
func (d *deviceCookies) issue(w http.ResponseWriter, r *http.Request, username, passwordHash string) {
	if d == nil || (d.insecure && !loopbackHost(r.Host)) {
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	exp := strconv.FormatInt(d.now().Add(d.maxAge).Unix(), 10)
	cred := d.credTag(passwordHash)
	http.SetCookie(w, &http.Cookie{
		Name:     d.name,
		Value:    id + "." + exp + "." + cred + "." + base64.RawURLEncoding.EncodeToString(d.mac(id, exp, cred, username)),
		Path:     "/",
		MaxAge:   int(d.maxAge / time.Second),
		HttpOnly: true,
		Secure:   !d.insecure,
		SameSite: http.SameSiteStrictMode,
	})
}
