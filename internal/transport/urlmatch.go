package transport

import (
	"strconv"
	"strings"
)

// gitURL is a URL as git's urlmatch.c normalizes it to match
// http.<url>.<key> entries: scheme and host in lower case, the scheme's
// default port dropped, the path with "." and ".." resolved and its
// escapes normalized.
type gitURL struct {
	scheme  string
	user    bool // it names a user (a pattern that does never matches ours)
	host    string
	port    string // "" for the scheme's default
	path    string // starts with "/"
	hasHost bool
}

// match is how well a pattern matched: git prefers the longer host, then
// the longer path.
type match struct{ host, path int }

// less reports whether m is a worse match than o.
func (m match) less(o match) bool {
	if m.host != o.host {
		return m.host < o.host
	}
	return m.path < o.path
}

const (
	urlSchemeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-"
	urlHostChars   = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_[:]"
	urlUnsafe      = " <>\"%{}|\\^`"
	urlReserved    = ":/?#[]@!$&'()*+,;="
)

// normalizeURL normalizes s as git does, or reports that git would not
// read it as a URL (globs allows "*" in the host, as for a pattern).
func normalizeURL(s string, globs bool) (gitURL, bool) {
	var u gitURL
	n := span(s, urlSchemeChars)
	if n == 0 || !isAlpha(s[0]) || !strings.HasPrefix(s[n:], "://") {
		return u, false
	}
	u.scheme = strings.ToLower(s[:n])
	rest := s[n+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.IndexByte(rest, '@'); at >= 0 && at < end {
		if _, ok := normalizeEscapes(rest[:at]); !ok {
			return u, false
		}
		u.user = true
		rest = rest[at+1:]
		end -= at + 1
	}
	if end == 0 || strings.IndexByte(":/?#", rest[0]) >= 0 {
		return u, false // no host: only file: URLs may have none
	}
	u.hasHost = true
	authority := rest[:end]
	hostEnd := len(authority)
	if c := strings.LastIndexAny(authority, ":]"); c >= 0 && authority[c] == ':' {
		hostEnd = c
	}
	chars := urlHostChars
	if globs {
		chars += "*"
	}
	if span(authority[:hostEnd], chars) < hostEnd {
		return u, false
	}
	u.host = strings.ToLower(authority[:hostEnd])
	if hostEnd < len(authority) {
		port := strings.TrimLeft(authority[hostEnd+1:], "0")
		if port == "" && len(authority) > hostEnd+1 {
			port = "0"
		}
		switch {
		case port == "":
		case u.scheme == "http" && port == "80", u.scheme == "https" && port == "443":
			port = ""
		default:
			if span(port, "0123456789") < len(port) {
				return u, false
			}
			p, err := strconv.Atoi(port)
			if len(port) > 5 || err != nil || p == 0 || p > 65535 {
				return u, false
			}
		}
		u.port = port
	}
	path, ok := normalizePath(rest[end:])
	if !ok {
		return u, false
	}
	u.path = path
	return u, true
}

// normalizePath resolves the dot segments of a URL's path, normalizing
// escapes, and returns it with what follows it (a query, a fragment),
// starting with "/": git matches a pattern's path and query alike.
func normalizePath(s string) (string, bool) {
	s = strings.TrimPrefix(s, "/")
	var segs []string
	for {
		end := strings.IndexAny(s, "/?#")
		last := end < 0 || s[end] != '/'
		if end < 0 {
			end = len(s)
		}
		seg, ok := normalizeEscapes(s[:end])
		if !ok {
			return "", false
		}
		switch seg {
		case ".":
			if last {
				segs = append(segs, "")
			}
		case "..":
			if len(segs) == 0 {
				return "", false
			}
			segs = segs[:len(segs)-1]
			if last {
				segs = append(segs, "")
			}
		default:
			segs = append(segs, seg)
		}
		if last {
			tail, ok := normalizeEscapes(s[end:])
			if !ok {
				return "", false
			}
			return "/" + strings.Join(segs, "/") + tail, true
		}
		s = s[end+1:]
	}
}

// normalizeEscapes decodes the escapes that need none and escapes what
// must be, as git's append_normalized_escapes does (with delimiters left
// escaped if they were).
func normalizeEscapes(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c, esc := s[i], false
		if c == '%' {
			if len(s)-i < 3 {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			c, esc = byte(v), true
			i += 2
		}
		if c <= 0x1f || c >= 0x7f || strings.IndexByte(urlUnsafe, c) >= 0 || esc && strings.IndexByte(urlReserved, c) >= 0 {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		} else {
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// matchedBy reports whether the pattern p matches u, and how well.
func (u gitURL) matchedBy(p gitURL) (match, bool) {
	if p.scheme != u.scheme || p.user && !u.user || !matchHost(u.host, p.host) || p.port != u.port {
		return match{}, false
	}
	n := matchPathPrefix(u.path, p.path)
	if n == 0 {
		return match{}, false
	}
	return match{host: len(p.host), path: n}, true
}

// matchHost matches host against pattern label by label; a label "*"
// matches any one label.
func matchHost(host, pattern string) bool {
	hl, pl := strings.Split(host, "."), strings.Split(pattern, ".")
	if len(hl) != len(pl) {
		return false
	}
	for i := range hl {
		if pl[i] != "*" && pl[i] != hl[i] {
			return false
		}
	}
	return true
}

// matchPathPrefix returns the length of the match of prefix against path
// (with an implicit final "/"), or 0 when prefix is not path or a prefix of
// it at a "/".
func matchPathPrefix(path, prefix string) int {
	if prefix == "" || prefix == "/" {
		if path == "" || path[0] == '/' {
			return 1
		}
		return 0
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if !strings.HasPrefix(path, prefix) {
		return 0
	}
	if len(path) == len(prefix) || path[len(prefix)] == '/' {
		return len(prefix) + 1
	}
	return 0
}

func span(s, chars string) int {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(chars, s[i]) < 0 {
			return i
		}
	}
	return len(s)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
