package password

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bcrypt costs. Each step doubles the work.
const (
	// DefaultCost is the bcrypt cost a zero [Hasher.Cost] selects.
	DefaultCost = 12
	// MinCost is the lowest bcrypt cost accepted for new hashes
	// (OWASP and ASVS ask for at least 10).
	MinCost = 10
	// MaxCost is the highest bcrypt cost accepted, for new hashes and for
	// stored ones alike (cost 16 takes seconds per computation).
	MaxCost = 16
)

// Input limits, in bytes of the password as given (UTF-8 for text).
const (
	// MaxBcryptBytes is bcrypt's input limit. bcrypt ignores everything
	// after it, so longer passwords are refused rather than truncated.
	MaxBcryptBytes = 72
	// MaxArgon2Bytes caps Argon2id input so that a huge password cannot be
	// used to make the server do extra work.
	MaxArgon2Bytes = 1024
)

// minStoredCost is the lowest bcrypt cost accepted in a stored hash (the
// lowest the algorithm defines). Such hashes verify, and
// [Hasher.NeedsRehash] reports them.
const minStoredCost = 4

// Scheme selects the algorithm a [Hasher] uses for new hashes. Stored
// hashes of every supported scheme are verified whatever the Scheme.
type Scheme int

const (
	// Bcrypt produces "$2b$" hashes, the passlib and OpenBSD format. It is
	// the zero Scheme.
	Bcrypt Scheme = iota
	// Argon2id produces PHC strings "$argon2id$v=19$m=…,t=…,p=…$salt$hash",
	// the format of argon2-cffi, passlib and pwdlib.
	Argon2id
)

// String returns the scheme's identifier: "bcrypt" or "argon2id".
func (s Scheme) String() string {
	switch s {
	case Bcrypt:
		return "bcrypt"
	case Argon2id:
		return "argon2id"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// Hasher hashes passwords and compares them with stored hashes, in the
// spirit of passlib's CryptContext: one scheme and cost for new hashes,
// verification of every supported scheme, and [Hasher.NeedsRehash] to
// upgrade stored hashes at login.
//
// The zero value is ready to use and produces bcrypt hashes at
// [DefaultCost]. Zero fields select their documented defaults. Call
// [Hasher.Validate] once at construction time to detect a bad
// configuration early; [Hasher.Hash] reports the same error.
//
// A Hasher is safe for concurrent use by multiple goroutines. Its fields
// must not be changed, and the Hasher must not be copied, after first use
// (it holds a lazily built dummy hash; go vet reports copies). Share it by
// pointer.
type Hasher struct {
	// Scheme is the algorithm for new hashes.
	// Default value: Bcrypt.
	Scheme Scheme

	// Cost is the bcrypt cost for new hashes, from MinCost (10) to
	// MaxCost (16); any other non-zero value is refused with ErrCost.
	// It is validated even when Scheme is Argon2id.
	// Default value: DefaultCost (12).
	Cost int

	// Argon2 holds the Argon2id parameters for new hashes. Each zero field
	// selects its own default (RFC 9106's second recommended option, as
	// argon2-cffi and pwdlib use). It is validated even when Scheme is
	// Bcrypt.
	Argon2 Argon2Params

	dummyOnce sync.Once
	dummy     *parsedHash // nil when the configuration is invalid
	// dummyNanos is a running average of how long the dummy comparison
	// takes (0: not measured yet).
	dummyNanos atomic.Int64
	// shapes holds a running average of the comparison time of each kind
	// of stored hash seen (scheme and parameters), at most maxShapes of
	// them; slowestNanos is the largest. [Hasher.Verify] pads refusals to
	// the slower of it and the dummy comparison, so that neither a cheaper
	// nor a costlier hash, nor one of another scheme, tells an account
	// from an unknown user.
	shapesMu     sync.Mutex
	shapes       map[string]int64
	slowestNanos atomic.Int64
}

// maxShapes bounds the kinds of stored hashes whose timing a Hasher
// tracks; maxFloorFactor bounds the padding, as a multiple of the dummy
// comparison, whatever the stored hashes cost.
const (
	maxShapes      = 16
	maxFloorFactor = 8
)

// Argon2Params are the Argon2id parameters for new hashes. Each zero field
// selects its default.
//
// Accepted ranges for new hashes: Memory from 19456 KiB (19 MiB) to 1 GiB,
// Time from 1 to 16, Memory×Time at least 38912 (OWASP's minimum m=19 MiB,
// t=2, or its equivalent m=46 MiB, t=1), Threads from 1 to 64, SaltLen and
// KeyLen from 16 to 64 bytes. Anything else is refused with [ErrCost].
// RFC 9106's first option (2 GiB) is out of range on purpose: a login
// endpoint multiplies that memory by its concurrency.
type Argon2Params struct {
	// Memory is the memory cost in KiB.
	// Default value: 65536 (64 MiB).
	Memory uint32
	// Time is the number of passes over the memory.
	// Default value: 3.
	Time uint32
	// Threads is the degree of parallelism.
	// Default value: 4.
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	// Default value: 16.
	SaltLen uint32
	// KeyLen is the length of the derived key (the hash) in bytes.
	// Default value: 32.
	KeyLen uint32
}

// Argon2id defaults and the bounds on new hashes.
const (
	defaultArgon2Memory  = 64 * 1024
	defaultArgon2Time    = 3
	defaultArgon2Threads = 4
	defaultArgon2SaltLen = 16
	defaultArgon2KeyLen  = 32

	minArgon2Memory     = 19 * 1024 // KiB
	minArgon2MemoryTime = 2 * minArgon2Memory
	minArgon2SaltLen    = 16
	minArgon2KeyLen     = 16
)

// Ceilings shared by new and stored Argon2id hashes. A stored hash above
// them is refused with ErrCost instead of being computed.
const (
	maxArgon2Memory  = 1024 * 1024 // KiB, 1 GiB
	maxArgon2Time    = 16
	maxArgon2Threads = 64
	maxArgon2SaltLen = 64
	maxArgon2KeyLen  = 64
)

// config is a Hasher's configuration with defaults applied and checked.
type config struct {
	scheme Scheme
	cost   int
	argon2 Argon2Params
}

// Validate reports whether the Hasher's configuration is usable: a known
// Scheme (else [ErrUnsupportedHash]), a Cost of 0 or MinCost..MaxCost and
// Argon2 parameters within the ranges documented on [Argon2Params] (else
// [ErrCost]). It is deterministic and cheap; [Hasher.Hash] returns the same
// error, and [Hasher.CompareDummy] does no work while it fails.
func (h *Hasher) Validate() error {
	_, err := h.config()
	return err
}

func (h *Hasher) config() (config, error) {
	c := config{scheme: h.Scheme, cost: h.Cost, argon2: h.Argon2}
	if c.scheme != Bcrypt && c.scheme != Argon2id {
		return config{}, fmt.Errorf("%w: unknown %v", ErrUnsupportedHash, c.scheme)
	}
	if c.cost == 0 {
		c.cost = DefaultCost
	}
	if c.cost < MinCost || c.cost > MaxCost {
		return config{}, fmt.Errorf("%w: Cost %d outside %d..%d", ErrCost, c.cost, MinCost, MaxCost)
	}
	a := &c.argon2
	if a.Memory == 0 {
		a.Memory = defaultArgon2Memory
	}
	if a.Time == 0 {
		a.Time = defaultArgon2Time
	}
	if a.Threads == 0 {
		a.Threads = defaultArgon2Threads
	}
	if a.SaltLen == 0 {
		a.SaltLen = defaultArgon2SaltLen
	}
	if a.KeyLen == 0 {
		a.KeyLen = defaultArgon2KeyLen
	}
	switch {
	case a.Memory < minArgon2Memory || a.Memory > maxArgon2Memory:
		return config{}, fmt.Errorf("%w: Argon2.Memory %d KiB outside %d..%d", ErrCost, a.Memory, minArgon2Memory, maxArgon2Memory)
	case a.Time > maxArgon2Time:
		return config{}, fmt.Errorf("%w: Argon2.Time %d above %d", ErrCost, a.Time, maxArgon2Time)
	case uint64(a.Memory)*uint64(a.Time) < minArgon2MemoryTime:
		return config{}, fmt.Errorf("%w: Argon2.Memory×Time %d below %d", ErrCost, uint64(a.Memory)*uint64(a.Time), minArgon2MemoryTime)
	case a.Threads > maxArgon2Threads:
		return config{}, fmt.Errorf("%w: Argon2.Threads %d above %d", ErrCost, a.Threads, maxArgon2Threads)
	case a.SaltLen < minArgon2SaltLen || a.SaltLen > maxArgon2SaltLen:
		return config{}, fmt.Errorf("%w: Argon2.SaltLen %d outside %d..%d", ErrCost, a.SaltLen, minArgon2SaltLen, maxArgon2SaltLen)
	case a.KeyLen < minArgon2KeyLen || a.KeyLen > maxArgon2KeyLen:
		return config{}, fmt.Errorf("%w: Argon2.KeyLen %d outside %d..%d", ErrCost, a.KeyLen, minArgon2KeyLen, maxArgon2KeyLen)
	}
	return c, nil
}

// Hash returns a new hash of password in the configured scheme, with a
// fresh random salt: "$2b$" for bcrypt, a PHC "$argon2id$v=19$" string for
// Argon2id.
//
// It fails with the [Hasher.Validate] error for a bad configuration,
// [ErrEmpty] for "", [ErrInvalidPassword] for a password containing a NUL
// byte, and [ErrTooLong] above the scheme's limit ([MaxBcryptBytes] or
// [MaxArgon2Bytes]); a password is never truncated.
func (h *Hasher) Hash(password string) (string, error) {
	c, err := h.config()
	if err != nil {
		return "", err
	}
	if err := checkPassword(c.scheme, password); err != nil {
		return "", err
	}
	if c.scheme == Argon2id {
		return hashArgon2id([]byte(password), c.argon2), nil
	}
	return hashBcrypt([]byte(password), c.cost)
}

// Compare reports whether password matches hash: nil on a match,
// [ErrMismatch] otherwise. It verifies "$2a$", "$2b$" and "$2y$" bcrypt
// hashes and "$argon2id$" version 19 hashes whatever the configured scheme,
// comparing results in constant time.
//
// Other outcomes, each an error wrapping one sentinel:
//   - [ErrMalformedHash]: hash is not well formed (including "" and
//     account-lock markers such as "!" or "*");
//   - [ErrUnsupportedHash]: a known but refused identifier ($2x$, $2$,
//     $1$, $argon2i$, Argon2 versions other than 19, ...);
//   - [ErrCost]: a bcrypt cost outside 4..[MaxCost], or Argon2 parameters
//     above the ceilings documented on [Argon2Params];
//   - [ErrEmpty], [ErrInvalidPassword], [ErrTooLong]: password is empty,
//     contains a NUL byte, or exceeds the stored scheme's limit. It is
//     refused whole: bcrypt never sees a truncated password.
//
// Problems with the stored hash are reported before problems with the
// password. Whatever the outcome, Compare performs
// exactly one hash computation: at the stored hash's cost when the hash is
// usable (on a fixed filler input when the password is refused), otherwise
// the same computation as [Hasher.CompareDummy]. Its duration therefore
// does not tell which check failed.
func (h *Hasher) Compare(hash, password string) error {
	p, err := parseHash(hash)
	if err != nil {
		h.CompareDummy(password)
		return err
	}
	if err := checkPassword(p.scheme, password); err != nil {
		verifyHash(p, []byte(fillerPassword))
		return err
	}
	if !verifyHash(p, []byte(password)) {
		return ErrMismatch
	}
	return nil
}

// CompareDummy performs the same work as [Hasher.Compare] against a stored
// hash of the configured scheme and cost, and discards the result. Call it
// when the user is unknown (or disabled, or has no password) so that such a
// login takes as long as a wrong password for a known user.
//
// The dummy hash is a well-formed hash of the configured scheme and
// parameters with a random salt and a random checksum, built once per
// Hasher on first use; no password matches it. CompareDummy returns
// nothing: the caller answers with its usual "invalid credentials" error.
// It does no work while the configuration is invalid (see
// [Hasher.Validate]).
func (h *Hasher) CompareDummy(password string) {
	d := h.dummyHash()
	if d == nil {
		return
	}
	input := password
	if checkPassword(d.scheme, password) != nil {
		input = fillerPassword
	}
	verifyHash(d, []byte(input))
}

// Verify is [Hasher.Compare] for a login: it compares password with
// stored, the hash of the account logging in, or with the dummy hash when
// stored is "" (no such account, or one without a password; the error is
// then [ErrMalformedHash], as from Compare). It also returns how long the
// caller must still wait before answering a refusal, so that every
// refusal takes as long as the slowest comparison the Hasher has seen:
// the dummy comparison, or one against a costlier stored hash or a hash
// of another scheme (during a migration from bcrypt to Argon2id, say).
// Verify learns those times from the comparisons it makes (and, before
// the first dummy one, by making one); a kind of stored hash counts from
// its first comparison in the process on, and the padding never exceeds
// eight times the dummy comparison.
//
// The wait is returned rather than slept so that the caller can first
// release what it holds (a hashing slot) and record the failure; it
// applies to every refusal, including one made despite a match (a
// disabled account), and never to a successful login.
func (h *Hasher) Verify(stored, password string) (time.Duration, error) {
	start := time.Now()
	err := h.Compare(stored, password)
	took := time.Since(start)
	if p, perr := parseHash(stored); perr != nil {
		// Compare made the dummy comparison: a sample of its cost.
		h.noteDummy(took)
	} else {
		shape := p.shape()
		if h.dummyNanos.Load() == 0 && shape != h.configShape() {
			// Nothing to pad to yet: learn the dummy comparison's cost
			// now. (A hash of the configured kind costs what the dummy
			// does: it needs no padding of its own.)
			dstart := time.Now()
			h.CompareDummy(password)
			h.noteDummy(time.Since(dstart))
		}
		h.noteShape(shape, took)
	}
	return max(h.refusalTime()-took, 0), err
}

// refusalTime is how long a refusal should take: the slowest comparison
// seen, at most maxFloorFactor times the dummy one.
func (h *Hasher) refusalTime() time.Duration {
	d := h.dummyNanos.Load()
	return time.Duration(min(max(d, h.slowestNanos.Load()), d*maxFloorFactor))
}

// noteShape adds one comparison's duration to the running average of its
// kind of hash.
func (h *Hasher) noteShape(shape string, d time.Duration) {
	h.shapesMu.Lock()
	defer h.shapesMu.Unlock()
	old, ok := h.shapes[shape]
	if !ok && len(h.shapes) >= maxShapes {
		return
	}
	if h.shapes == nil {
		h.shapes = make(map[string]int64)
	}
	next := int64(d)
	if ok {
		next = old + (int64(d)-old)/8
	}
	h.shapes[shape] = max(next, 1)
	var slowest int64
	for _, n := range h.shapes {
		slowest = max(slowest, n)
	}
	h.slowestNanos.Store(slowest)
}

// noteDummy adds one dummy comparison's duration to the running average.
func (h *Hasher) noteDummy(d time.Duration) {
	for {
		old := h.dummyNanos.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if h.dummyNanos.CompareAndSwap(old, max(next, 1)) {
			return
		}
	}
}

// dummyHash returns the Hasher's dummy hash, building it on first use.
func (h *Hasher) dummyHash() *parsedHash {
	h.dummyOnce.Do(func() {
		c, err := h.config()
		if err != nil {
			return
		}
		var s string
		if c.scheme == Argon2id {
			s = dummyArgon2id(c.argon2)
		} else {
			s = dummyBcrypt(c.cost)
		}
		p, err := parseHash(s)
		if err != nil {
			panic("password: built an unparsable dummy hash: " + err.Error())
		}
		h.dummy = p
	})
	return h.dummy
}

// NeedsRehash reports whether hash should be replaced by a new [Hasher.Hash]
// of the same password, which the caller has just verified with
// [Hasher.Compare]. It returns true when hash:
//   - cannot be parsed or is refused by Compare;
//   - uses another scheme than the configured one;
//   - is bcrypt with a "$2a$" or "$2y$" prefix, or a cost below the
//     configured Cost;
//   - is Argon2id with Memory, Time, salt length or key length below the
//     configured ones (Threads is not a strength parameter and is ignored).
//
// Stronger hashes are kept: lowering the configuration does not downgrade
// stored hashes. NeedsRehash returns false while the configuration is
// invalid, since no replacement could be made.
func (h *Hasher) NeedsRehash(hash string) bool {
	c, err := h.config()
	if err != nil {
		return false
	}
	p, err := parseHash(hash)
	if err != nil {
		return true
	}
	if p.scheme != c.scheme {
		return true
	}
	if p.scheme == Bcrypt {
		return p.minor != 'b' || p.cost < c.cost
	}
	a := p.argon2
	return a.Memory < c.argon2.Memory || a.Time < c.argon2.Time ||
		a.SaltLen < c.argon2.SaltLen || a.KeyLen < c.argon2.KeyLen
}

// fillerPassword stands in for a refused password so that the refusal
// costs one full hash computation. Work does not depend on its value.
const fillerPassword = "password-length-independent-filler"

// checkPassword applies the input rules of scheme s.
func checkPassword(s Scheme, password string) error {
	if password == "" {
		return ErrEmpty
	}
	if strings.IndexByte(password, 0) >= 0 {
		return fmt.Errorf("%w: contains a NUL byte", ErrInvalidPassword)
	}
	if s == Argon2id {
		if len(password) > MaxArgon2Bytes {
			return fmt.Errorf("%w: argon2id accepts at most %d bytes", ErrTooLong, MaxArgon2Bytes)
		}
		return nil
	}
	if len(password) > MaxBcryptBytes {
		return fmt.Errorf("%w: bcrypt accepts at most %d bytes of UTF-8, not %d characters", ErrTooLong, MaxBcryptBytes, MaxBcryptBytes)
	}
	return nil
}

// parsedHash is a stored hash that passed every check and may be computed.
type parsedHash struct {
	encoded string
	scheme  Scheme

	// bcrypt
	minor byte // 'a', 'b' or 'y'
	cost  int

	// argon2id; argon2.SaltLen and argon2.KeyLen hold len(salt), len(key)
	argon2 Argon2Params
	salt   []byte
	key    []byte
}

// shape names the kind of hash p is, by the parameters that set its cost.
func (p *parsedHash) shape() string {
	return shapeOf(p.scheme, p.cost, p.argon2)
}

// configShape is the shape of the hashes h makes, "" when its
// configuration is invalid.
func (h *Hasher) configShape() string {
	c, err := h.config()
	if err != nil {
		return ""
	}
	return shapeOf(c.scheme, c.cost, c.argon2)
}

func shapeOf(s Scheme, cost int, a Argon2Params) string {
	if s == Bcrypt {
		return "bcrypt/" + strconv.Itoa(cost)
	}
	return fmt.Sprintf("argon2id/m=%d,t=%d,p=%d,k=%d", a.Memory, a.Time, a.Threads, a.KeyLen)
}

// maxHashLen bounds the stored hash before any parsing. The longest hash
// accepted (Argon2id at the ceilings) is about 220 bytes.
const maxHashLen = 256

// parseHash identifies and parses a stored hash.
func parseHash(s string) (*parsedHash, error) {
	if len(s) > maxHashLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxHashLen)
	}
	if len(s) == 0 || s[0] != '$' {
		return nil, fmt.Errorf("%w: no $identifier$ prefix", ErrMalformedHash)
	}
	id, _, ok := strings.Cut(s[1:], "$")
	if !ok || !validIdentifier(id) {
		return nil, fmt.Errorf("%w: no $identifier$ prefix", ErrMalformedHash)
	}
	switch id {
	case "2a", "2b", "2y":
		return parseBcrypt(s)
	case "argon2id":
		return parseArgon2id(s)
	}
	return nil, fmt.Errorf("%w: $%s$", ErrUnsupportedHash, id)
}

// validIdentifier reports whether id has the shape of a PHC or modular
// crypt identifier: 1 to 32 characters from [a-z0-9-].
func validIdentifier(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// verifyHash computes p for password and reports a match. Every hash
// computation of Compare and CompareDummy goes through it.
var verifyHash = func(p *parsedHash, password []byte) bool {
	if p.scheme == Argon2id {
		return verifyArgon2id(p, password)
	}
	return verifyBcrypt(p, password)
}
