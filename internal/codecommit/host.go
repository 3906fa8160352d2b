package codecommit

import (
	"fmt"
	"net"
	"strings"
)

// Host is what a CodeCommit git host name says about itself.
type Host struct {
	Region string
	FIPS   bool
	// VPCE reports whether the host is an interface VPC endpoint
	// (vpce-….git-codecommit.<region>.vpce.amazonaws.com).
	VPCE bool
}

// ParseHost recognises the CodeCommit git hosts:
//
//	git-codecommit[-fips].<region>.amazonaws.com[.cn]
//	vpce-<id>.git-codecommit[-fips].<region>.vpce.amazonaws.com
//
// A port, if any, is ignored. It reports false for every other host.
func ParseHost(hostport string) (Host, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.Split(host, ".")
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

// ValidateEndpointOverride checks a CODE_COMMIT_ENDPOINT value: a host or
// host:port, with no scheme, user or path.
func ValidateEndpointOverride(v string) error {
	bad := func(why string) error {
		return fmt.Errorf("CODE_COMMIT_ENDPOINT=%q is not a host[:port] (%s); set it to a host such as vpce-0123.git-codecommit.us-east-1.vpce.amazonaws.com", v, why)
	}
	switch {
	case strings.Contains(v, "://"):
		return bad("drop the scheme")
	case strings.ContainsAny(v, "/?#@ \t"):
		return bad("no path, query, user or spaces")
	}
	host := v
	if strings.Contains(v, ":") {
		h, port, err := net.SplitHostPort(v)
		if err != nil || port == "" {
			return bad("bad port")
		}
		host = h
	}
	if host == "" {
		return bad("empty host")
	}
	return nil
}
