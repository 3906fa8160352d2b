package clean

import (
	"strings"
	"unicode"
)

// Redacted replaces whatever Redact removes.
const Redacted = "[redacted]"

// Redact returns s with everything that may be a credential replaced by
// Redacted: every value in known (the secrets the caller holds: a secret
// key, a session token, a web identity token), and every word that looks
// like one: 32 or more hex digits (a signature or digest), or 30 or more
// characters of base64 or URL-safe base64 mixing upper case, lower case and
// digits (a secret access key, a session token, a JWT part). Access key ids,
// ARNs, paths and ordinary words stay.
//
// It is for text codecommitd did not write: an AWS error message, a
// program's stderr, a library's error. Messages built from known facts do
// not need it.
func Redact(s string, known ...string) string {
	for _, k := range known {
		// A replacement can meet its neighbours and spell k again.
		for i := 0; len(k) >= 8 && !strings.Contains(Redacted, k) && strings.Contains(s, k) && i < 4; i++ {
			s = strings.ReplaceAll(s, k, Redacted)
		}
	}
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		if word := s[start:end]; secretLike(word) {
			b.WriteString(Redacted)
		} else {
			b.WriteString(word)
		}
		start = -1
	}
	for i := 0; i < len(s); i++ {
		if tokenByte(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}

func tokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=%_-", c) >= 0
}

func secretLike(w string) bool {
	if len(w) >= 32 && strings.Trim(strings.ToLower(w), "0123456789abcdef") == "" {
		return true
	}
	if len(w) < 30 {
		return false
	}
	var upper, lower, digit bool
	for _, r := range w {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	return upper && lower && digit
}

// RedactURL returns u, a URL such as a proxy setting, for showing: its
// userinfo (user name and password) replaced by Redacted, whether or not u
// parses as a URL. The userinfo is everything between the scheme's "://"
// (or the start, when u has none: Go's proxy code reads
// user:password@host:3128 as http://…) and the last '@'. So a password
// holding '#', '?', '/', ':' or '@', percent-encoded or not, and an IPv6
// host are covered; an '@' after the host (in a path or query) hides more
// than needed, never less. Without an '@', u is returned as it is.
func RedactURL(u string) string {
	at := strings.LastIndexByte(u, '@')
	if at < 0 {
		return u
	}
	start := 0
	if i := strings.Index(u[:at], "://"); i > 0 && isScheme(u[:i]) {
		start = i + len("://")
	}
	if start == at {
		return u // "@host": nothing to hide
	}
	return u[:start] + Redacted + u[at:]
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// EnvValue returns the value of environment variable name for showing: for a
// variable that holds a URL (a proxy, *_PROXY in any case; an endpoint,
// *_URL*, *_URI, *_ENDPOINT) the value with its userinfo redacted by
// RedactURL, for any other (HOME, PATH, which may hold an '@') the value.
func EnvValue(name, value string) string {
	n := strings.ToUpper(name)
	if strings.HasSuffix(n, "_PROXY") || strings.Contains(n, "_URL") || strings.HasSuffix(n, "_URI") || strings.HasSuffix(n, "_ENDPOINT") {
		return RedactURL(value)
	}
	return value
}
