package jwt

// Hooks for the external tests (package jwt_test) into what the package
// keeps unexported.

var (
	ParseJWK           = parseJWK
	NewVerificationKey = newVerificationKey
)

func (k *Key) Algorithm() Algorithm       { return k.alg }
func (k *Key) Public() any                { return k.public }
func (k *Key) PublicPEM() ([]byte, error) { return k.publicPEM() }
func (r *RemoteKeySet) Keys() []*Key {
	if s := r.snap.Load(); s != nil {
		return append([]*Key(nil), s.keys...)
	}
	return nil
}

func (m *MultiVerifier) Issuers() []string {
	out := make([]string, 0, len(m.byIssuer))
	for iss := range m.byIssuer {
		out = append(out, iss)
	}
	return out
}

// NewKeySetFromJWKS is ParseJWKS and NewKeySet with no active key.
func NewKeySetFromJWKS(data []byte) (*KeySet, error) {
	keys, err := ParseJWKS(data)
	if err != nil {
		return nil, err
	}
	return NewKeySet(nil, keys...)
}
