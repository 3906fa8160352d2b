// Package sigv4 signs CodeCommit git passwords.
//
// CodeCommit's git endpoints take a SigV4 signature over a pseudo-request
// whose method is "GIT" and whose payload line is empty, which the SDK's v4
// signer cannot produce, so this package derives it by hand. Derived signing
// keys are cached per secret, day and region, so a request costs one SHA-256
// and one HMAC.
//
// Credentials, the only type here that holds secrets, redacts itself in
// logs and fmt output.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
)

// PasswordLifetime is how long CodeCommit accepts a signed password after
// its timestamp.
const PasswordLifetime = 15 * time.Minute

// Credentials are AWS credentials. The zero value has no keys.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when the credentials stop working; zero means never.
	Expires time.Time
	// Source names where they came from ("AssumeRoleProvider", …); it is not
	// secret.
	Source string
}

// HasKeys reports whether both the access key id and the secret are set.
func (c Credentials) HasKeys() bool { return c.AccessKeyID != "" && c.SecretAccessKey != "" }

// LogValue shows only what is safe to log.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", Redact(c.AccessKeyID)),
		slog.Time("expires", c.Expires),
		slog.String("source", c.Source),
	)
}

// String keeps secrets out of fmt's %v and %s.
func (c Credentials) String() string {
	return "Credentials{" + Redact(c.AccessKeyID) + " source=" + c.Source + " expires=" + c.Expires.UTC().Format(time.RFC3339) + "}"
}

// GoString keeps secrets out of fmt's %#v.
func (c Credentials) GoString() string { return c.String() }

// Redact shortens an access key id to its first four characters, which say
// what kind of key it is (AKIA long-term, ASIA temporary) and nothing more.
func Redact(accessKeyID string) string {
	if len(accessKeyID) <= 4 {
		return "****"
	}
	return accessKeyID[:4] + "****"
}

// Signed is a signed CodeCommit git password.
type Signed struct {
	// Username is the access key id, followed by "%" and the session token
	// when there is one. It is not URL-encoded.
	Username string
	// Password is the timestamp, "Z" and the hex signature.
	Password string
	// Expires is when the password stops working: PasswordLifetime after it
	// was signed, or when the credentials expire, whichever comes first.
	Expires time.Time
}

// LogValue keeps the password and session token out of logs.
func (s Signed) LogValue() slog.Value {
	user, _, _ := strings.Cut(s.Username, "%")
	return slog.GroupValue(slog.String("access_key_id", Redact(user)), slog.Time("expires", s.Expires))
}

// String keeps secrets out of fmt's %v and %s.
func (s Signed) String() string {
	return "Signed{expires=" + s.Expires.UTC().Format(time.RFC3339) + "}"
}

// GoString keeps secrets out of fmt's %#v.
func (s Signed) GoString() string { return s.String() }

// URL returns https://<username>:<password>@host/v1/repos/<repo>, with the
// username escaped as AWS's helper does (every byte but A-Z a-z 0-9 - . _ ~).
func (s Signed) URL(host, path string) string {
	return "https://" + Escape(s.Username) + ":" + s.Password + "@" + host + path
}

// InURL returns the https:// URL u with the username and password in it.
func (s Signed) InURL(u string) string {
	host, path, _ := strings.Cut(strings.TrimPrefix(u, "https://"), "/")
	return s.URL(host, "/"+path)
}

// Escape percent-encodes every byte of s except the unreserved characters
// A-Z a-z 0-9 - . _ ~, like Python's urllib.parse.quote(s, safe="").
func Escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Signer signs CodeCommit passwords and caches derived signing keys. The
// zero value is ready to use; a Signer is safe for concurrent use.
type Signer struct {
	mu   sync.Mutex
	keys map[keyID][]byte
}

type keyID struct{ secret, date, region string }

// maxKeys bounds the key cache; past it the cache starts over.
const maxKeys = 4096

// Sign signs the CodeCommit git request for path on host (host[:port],
// exactly as it appears in the URL git will use) in region at time now.
func (s *Signer) Sign(c Credentials, region, host, path string, now time.Time) Signed {
	now = now.UTC()
	ts := now.Format("20060102T150405")
	date := ts[:8]
	canonical := "GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := "AWS4-HMAC-SHA256\n" + ts + "\n" + date + "/" + region + "/codecommit/aws4_request\n" + hex.EncodeToString(sum[:])

	mac := hmac.New(sha256.New, s.signingKey(c.SecretAccessKey, date, region))
	mac.Write([]byte(stringToSign))
	signature := hex.EncodeToString(mac.Sum(nil))

	user := c.AccessKeyID
	if c.SessionToken != "" {
		user += "%" + c.SessionToken
	}
	expires := now.Truncate(time.Second).Add(PasswordLifetime)
	if !c.Expires.IsZero() && c.Expires.Before(expires) {
		expires = c.Expires
	}
	return Signed{Username: user, Password: ts + "Z" + signature, Expires: expires}
}

func (s *Signer) signingKey(secret, date, region string) []byte {
	id := keyID{secret, date, region}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[id]; ok {
		return k
	}
	k := DeriveKey(secret, date, region, "codecommit")
	if s.keys == nil || len(s.keys) >= maxKeys {
		s.keys = make(map[keyID][]byte)
	}
	s.keys[id] = k
	return k
}

// DeriveKey is SigV4's signing-key derivation.
func DeriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}
