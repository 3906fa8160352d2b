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
