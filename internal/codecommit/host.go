package codecommit

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/codecommitd/codecommitd/internal/clean"
)

// Host is what a CodeCommit git host name says about itself.
type Host struct {
	Region string
	FIPS   bool
	// VPCE reports whether the host is an interface VPC endpoint
	// (vpce-….git-codecommit.<region>.vpce.amazonaws.com).
	VPCE bool
}

// ErrNotEndpoint is wrapped by CheckEndpoint's error for a host that is not a
// CodeCommit git endpoint: someone else's host, which a credential helper
// leaves to git's next helper.
var ErrNotEndpoint = errors.New("not a CodeCommit git endpoint")

// ParseHost recognises the CodeCommit git hosts, with or without a port:
//
//	git-codecommit[-fips].<region>.amazonaws.com[.cn]
//	vpce-<id>.git-codecommit[-fips].<region>.vpce.amazonaws.com
//
// in any case, with an optional trailing dot. It reports false for every
// other host, and for anything that is not a valid host[:port] (see
// CheckEndpoint): a user name, a path, a port that is not 1–65535.
func ParseHost(hostport string) (Host, bool) {
	name, _, why := splitHostPort(hostport)
	if why != "" {
		return Host{}, false
	}
	return parseName(name)
}

// CheckEndpoint decides whether codecommitd signs for hostport, the host git
// (or a client) names: a CodeCommit git host ParseHost recognises, whose Host
// it returns, or override (the caller's CODE_COMMIT_ENDPOINT, "" for none)
// when hostport equals it but for case, for which it returns the zero Host
// (it says nothing of a region).
//
// A valid host[:port] is a DNS name (letters, digits, '-' and '_' in labels
// of at most 63 bytes, 253 in all, an optional trailing dot; this covers IPv4
// addresses) or an IPv6 address in brackets, without a zone, then optionally
// ':' and a port: a decimal number from 1 to 65535 without a sign, spaces or
// leading zeros. git passes the port as the URL spells it, and a "0443" that
// curl reads as 443 would be another string to sign, so it is refused, not
// guessed at. Anything else is refused: a user ("host:@other", "user@host"),
// a path, query or fragment ("host:443/../x"), an empty port ("host:"),
// spaces, percent signs, brackets around a name.
//
// The error says why, on one line. It wraps ErrNotEndpoint for another host
// (well formed or not); it does not for a host that starts as a CodeCommit
// host name but is not a valid host[:port], nor for an override that is not
// itself one: those are mistakes to report, not hosts to pass over.
func CheckEndpoint(hostport, override string) (Host, error) {
	name, _, why := splitHostPort(hostport)
	if why == "" {
		if h, ok := parseName(name); ok {
			return h, nil
		}
	}
	if override != "" {
		if err := ValidateEndpointOverride(override); err != nil {
			return Host{}, err
		}
		if strings.EqualFold(hostport, override) {
			return Host{}, nil
		}
	}
	if why != "" && startsAsCodeCommit(hostport) {
		return Host{}, fmt.Errorf("%s is not a CodeCommit git endpoint, so codecommitd will not sign for it: %s", clean.Quote(hostport, 100), why)
	}
	return Host{}, fmt.Errorf("%s is %w (git-codecommit[-fips].<region>.amazonaws.com[.cn], a vpce-… endpoint, or the host in CODE_COMMIT_ENDPOINT), so codecommitd will not sign for it",
		clean.Quote(hostport, 100), ErrNotEndpoint)
}

// ValidateEndpointOverride checks a CODE_COMMIT_ENDPOINT value: a valid
// host[:port] (see CheckEndpoint), with no scheme, user or path.
func ValidateEndpointOverride(v string) error {
	why := ""
	if strings.Contains(v, "://") {
		why = "drop the scheme"
	} else if _, _, why = splitHostPort(v); why == "" {
		return nil
	}
	return fmt.Errorf("CODE_COMMIT_ENDPOINT=%s is not a host[:port] (%s); set it to a host such as vpce-0123.git-codecommit.us-east-1.vpce.amazonaws.com",
		clean.Quote(v, 100), why)
}

// ParseRepositoryPath returns the repository named by a CodeCommit git URL
// path ("/v1/repos/<repo>" or git's credential form "v1/repos/<repo>").
func ParseRepositoryPath(path string) (string, error) {
	p := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	repo, ok := strings.CutPrefix(p, "v1/repos/")
	if !ok {
		return "", fmt.Errorf("path %q is not a CodeCommit repository path (/v1/repos/<repository>)", path)
	}
	if err := ValidateRepositoryName(repo); err != nil {
		return "", err
	}
	return repo, nil
}

// parseName recognises a CodeCommit git host name (no port).
func parseName(name string) (Host, bool) {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	var h Host
	if len(labels) > 0 && strings.HasPrefix(labels[0], "vpce-") {
		h.VPCE = true
		labels = labels[1:]
	}
	if len(labels) < 3 {
		return Host{}, false
	}
	switch labels[0] {
	case "git-codecommit":
	case "git-codecommit-fips":
		h.FIPS = true
	default:
		return Host{}, false
	}
	h.Region = labels[1]
	if !ValidRegionName(h.Region) {
		return Host{}, false
	}
	domain := strings.Join(labels[2:], ".")
	switch {
	case h.VPCE && domain == "vpce.amazonaws.com":
	case !h.VPCE && domain == "amazonaws.com" && !strings.HasPrefix(h.Region, "cn-"):
	case !h.VPCE && domain == "amazonaws.com.cn" && strings.HasPrefix(h.Region, "cn-"):
	default:
		return Host{}, false
	}
	return h, true
}

// startsAsCodeCommit reports whether s begins with a CodeCommit host name,
// up to the first byte a host name cannot hold.
func startsAsCodeCommit(s string) bool {
	end := 0
	for end < len(s) && nameByte(s[end]) {
		end++
	}
	_, ok := parseName(s[:end])
	return ok
}

// splitHostPort splits a host[:port] (see CheckEndpoint) into the host,
// without brackets, and the port, without its colon ("" when absent); why
// says what is wrong, "" when nothing is.
func splitHostPort(s string) (host, port, why string) {
	rest := ""
	switch {
	case s == "":
		return "", "", "it is empty"
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", "the '[' of an IPv6 address is not closed"
		}
		host, rest = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" || strings.Contains(host, "%") {
			return "", "", fmt.Sprintf("%.60q is not an IPv6 address without a zone", host)
		}
		if rest != "" && rest[0] != ':' {
			return "", "", "only a ':' and a port may follow an IPv6 address's ']'"
		}
	default:
		i := strings.IndexByte(s, ':')
		if i < 0 {
			i = len(s)
		}
		host, rest = s[:i], s[i:]
		if why := checkName(host); why != "" {
			return "", "", why
		}
	}
	if rest == "" {
		return host, "", ""
	}
	port = rest[1:]
	if !validPort(port) {
		if port == "" {
			return "", "", "the port after ':' is empty"
		}
		return "", "", fmt.Sprintf("the port %.40q is not a number from 1 to 65535 (without a sign, spaces or leading zeros)", port)
	}
	return host, port, ""
}

// checkName says what is wrong with a DNS host name, "" when nothing is.
func checkName(name string) string {
	if name == "" {
		return "the host name is empty"
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Sprintf("the host name holds %q, which a host name cannot (a user, path, query or space does not belong in it)", name[i:i+1])
		}
	}
	trimmed := strings.TrimSuffix(name, ".")
	if len(trimmed) > 253 {
		return fmt.Sprintf("the host name is %d bytes long; DNS names are at most 253", len(trimmed))
	}
	for _, label := range strings.Split(trimmed, ".") {
		switch {
		case label == "":
			return "the host name has an empty label (a leading dot, or two in a row)"
		case len(label) > 63:
			return fmt.Sprintf("the host name has a label of %d bytes; labels are at most 63", len(label))
		}
	}
	return ""
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// validPort reports whether p is a port number from 1 to 65535, in decimal
// digits without a leading zero.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}
