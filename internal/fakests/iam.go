package fakests

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Identity is a set of credentials the fake knows, long-term or issued.
type Identity struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string    // "" for long-term keys
	Expires         time.Time // zero for long-term keys
	// ARN is the principal: arn:aws:iam::<acct>:user/<name> or
	// arn:aws:sts::<acct>:assumed-role/<role>/<session>.
	ARN string
	// MFA reports whether the identity was obtained with an MFA code.
	MFA bool
	// RoleSessionName is the session name an assumed role was given.
	RoleSessionName string
}

// Role is an IAM role the fake lets callers assume.
type Role struct {
	ARN string
	// RequireMFA makes AssumeRole refuse callers who neither pass an MFA
	// code nor hold MFA-authenticated session credentials.
	RequireMFA bool
	// DenyFrom lists principal ARNs refused with AccessDenied.
	DenyFrom []string
	// MaxDuration caps DurationSeconds; zero means 12 hours.
	MaxDuration time.Duration
}

// Account is the account id every ARN the fake makes is in.
const Account = "123456789012"

type iam struct {
	mu         sync.Mutex
	identities map[string]*Identity // by access key id
	roles      map[string]*Role
	webTokens  map[string]string // token → subject
	mfaCodes   map[string]string // serial → the code that is currently valid
	seq        atomic.Int64
}

func newIAM() *iam {
	return &iam{
		identities: map[string]*Identity{},
		roles:      map[string]*Role{},
		webTokens:  map[string]string{},
		mfaCodes:   map[string]string{},
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// AddUser registers long-term keys for an IAM user and returns them.
func (s *Server) AddUser(name string) Identity {
	id := Identity{
		AccessKeyID:     fmt.Sprintf("AKIAFAKE%08d", s.iam.seq.Add(1)),
		SecretAccessKey: "secret-" + randomString(16),
		ARN:             "arn:aws:iam::" + Account + ":user/" + name,
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.identities[id.AccessKeyID] = &id
	return id
}

// AddRole registers a role and returns its ARN.
func (s *Server) AddRole(r Role) string {
	if !strings.HasPrefix(r.ARN, "arn:") {
		r.ARN = "arn:aws:iam::" + Account + ":role/" + r.ARN
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.roles[r.ARN] = &r
	return r.ARN
}

// AddWebIdentityToken makes token acceptable to AssumeRoleWithWebIdentity.
func (s *Server) AddWebIdentityToken(token, subject string) {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.webTokens[token] = subject
}

// RevokeWebIdentityToken makes token unacceptable again.
func (s *Server) RevokeWebIdentityToken(token string) {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	delete(s.iam.webTokens, token)
}

// SetMFACode sets the code the MFA device serial currently shows.
func (s *Server) SetMFACode(serial, code string) {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.mfaCodes[serial] = code
}

// Lookup returns the identity of an access key id, long-term or issued.
func (s *Server) Lookup(accessKeyID string) (Identity, bool) {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	id, ok := s.iam.identities[accessKeyID]
	if !ok {
		return Identity{}, false
	}
	return *id, true
}

// Issued returns every temporary identity issued so far.
func (s *Server) Issued() []Identity {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	var out []Identity
	for _, id := range s.iam.identities {
		if id.SessionToken != "" {
			out = append(out, *id)
		}
	}
	return out
}

func (s *Server) issue(arn, session string, mfa bool, lifetime time.Duration) *Identity {
	s.mu.Lock()
	if s.lifetime != 0 {
		lifetime = s.lifetime
	}
	s.mu.Unlock()
	id := &Identity{
		AccessKeyID:     fmt.Sprintf("ASIAFAKE%08d", s.iam.seq.Add(1)),
		SecretAccessKey: "secret-" + randomString(16),
		SessionToken:    "token-" + randomString(24),
		Expires:         s.clock().Add(lifetime).UTC().Truncate(time.Second),
		ARN:             arn,
		MFA:             mfa,
		RoleSessionName: session,
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	s.iam.identities[id.AccessKeyID] = id
	return id
}
