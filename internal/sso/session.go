package sso

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Session is one IAM Identity Center sign-in as the AWS config names it: an
// [sso-session NAME] section, or the sso_start_url of a legacy profile.
// Profiles that name the same sso-session share its sign-in.
type Session struct {
	// Name is the sso-session's name; empty for a legacy profile.
	Name string
	// Profile is the profile the session was reached from, for messages
	// and their fix; required for a legacy profile, optional otherwise.
	Profile string
	// StartURL is sso_start_url, the AWS access portal's URL.
	StartURL string
	// Region is sso_region, where the OIDC service is asked.
	Region string
	// Scopes are sso_registration_scopes as configured: nil when the key
	// is absent, which the AWS CLI's registration cache key tells apart
	// from an empty list.
	Scopes []string
}

// Legacy reports whether s is a legacy profile's (sso_start_url in the
// profile, no sso-session): the AWS CLI signs those in with the device code
// grant only, and their tokens cannot be refreshed.
func (s Session) Legacy() bool { return s.Name == "" }

// String names s in messages: "sso-session corp", "profile dev (sso-session
// corp)", or for a legacy profile "profile dev".
func (s Session) String() string {
	switch {
	case s.Legacy() && s.Profile != "":
		return "profile " + s.Profile
	case s.Legacy():
		return "the SSO start URL " + s.StartURL
	case s.Profile != "":
		return "profile " + s.Profile + " (sso-session " + s.Name + ")"
	}
	return "sso-session " + s.Name
}

// LoginCommand is the command that signs s in from a terminal.
func (s Session) LoginCommand() string {
	if s.Legacy() {
		return "codecommitd login --profile " + s.Profile
	}
	return "codecommitd login --sso-session " + s.Name
}

// signInFix is the fix for every failure that only a new sign-in mends.
func (s Session) signInFix() string {
	aws := "aws sso login --sso-session " + s.Name
	if s.Legacy() {
		aws = "aws sso login --profile " + s.Profile
	}
	return "sign in with `" + s.LoginCommand() + "` (or `" + aws + "`)"
}

func (s Session) check() error {
	switch {
	case s.StartURL == "":
		return errors.New("the SSO session has no start URL (sso_start_url)")
	case s.Region == "":
		return fmt.Errorf("%s has no sso_region", s)
	case s.Legacy() && s.Profile == "":
		return errors.New("a legacy SSO profile (sso_start_url without sso_session) needs its profile's name")
	}
	return nil
}

// CacheKey is the token file's name without ".json": the SHA-1, in hex, of
// the session's name, or of the start URL for a legacy profile, as the AWS
// CLI (botocore SSOTokenLoader) and the SDKs (ssocreds
// StandardCachedTokenFilepath) compute it.
func (s Session) CacheKey() string {
	in := s.Name
	if s.Legacy() {
		in = s.StartURL
	}
	sum := sha1.Sum([]byte(in))
	return hex.EncodeToString(sum[:])
}

// registrationKey is the name (without ".json") of the file where the AWS
// CLI keeps the client registration of s: the SHA-1 of Python's
// json.dumps({"tool": "botocore", "startUrl": …, "region": …, "scopes": …,
// "session_name": …}, sort_keys=True), where scopes and session_name are
// null when not configured (botocore BaseSSOTokenFetcher
// _registration_cache_key). Sharing the key shares the registration with
// the CLI, as the token file shares the sign-in.
func (s Session) registrationKey() string {
	var b strings.Builder
	b.WriteString(`{"region": ` + pyString(s.Region) + `, "scopes": `)
	if s.Scopes == nil {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		for i, sc := range s.Scopes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyString(sc))
		}
		b.WriteByte(']')
	}
	b.WriteString(`, "session_name": `)
	if s.Legacy() {
		b.WriteString("null")
	} else {
		b.WriteString(pyString(s.Name))
	}
	b.WriteString(`, "startUrl": ` + pyString(s.StartURL) + `, "tool": "botocore"}`)
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// pyString is s as Python's json.dumps writes a string by default
// (ensure_ascii): printable ASCII as it is, the short escapes for quote,
// backslash and \b \f \n \r \t, every other code point as \uXXXX in lower
// case (a surrogate pair above U+FFFF). Bytes that are not UTF-8 count as
// U+FFFD, as Python would have read the config file.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= ' ' && r <= '~':
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			if r == utf8.RuneError {
				r = 0xfffd
			}
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
