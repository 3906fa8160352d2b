// Package clean shapes text for the places a user or a log reads it: one
// line, valid UTF-8, no control characters, and a bounded length cut at a
// word boundary. Everything codecommitd echoes (a profile name from a URL,
// a line a program printed, an error text) goes through it, so no input can
// break a terminal, a log line or a gRPC status. Redact hides what looks like
// a credential in text codecommitd did not write, and RedactURL the user and
// password of a URL (a proxy setting), parseable or not. It uses only the
// standard library: the helpers use it.
package clean

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s on one line: invalid UTF-8 and control characters become
// spaces, runs of white space collapse, and text past max bytes is cut at
// the last word boundary before it (or, for one long word, at a character
// boundary) and ends in "…".
func Line(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), max+8))
	space := false
	for i, w := 0, 0; i < len(s); i += w {
		r, width := utf8.DecodeRuneInString(s[i:])
		w = width
		if (r == utf8.RuneError && width == 1) || unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if b.Len() > max+4 { // enough to know it must be cut
			break
		}
	}
	out := b.String()
	if len(out) <= max {
		return out
	}
	return cut(out, max)
}

// cut shortens the one-line s to at most max bytes plus "…", at the last
// space if there is one in the second half, else at a character boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > max/2 {
		cut = sp
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}

// Quote returns s for echoing inside a message: like Line, capped at max,
// and in double quotes when it is empty or holds a space or a quote, so a
// reader sees where it begins and ends.
func Quote(s string, max int) string {
	l := Line(s, max)
	if l == "" || l != s || strings.ContainsAny(l, " \"'") {
		return `"` + strings.ReplaceAll(l, `"`, `'`) + `"`
	}
	return l
}

// Short returns the first 12 characters of a fingerprint, enough to tell
// entries apart in a log or in status.
func Short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}
