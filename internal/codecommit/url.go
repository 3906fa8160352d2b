package codecommit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Remote is a parsed codecommit:// remote URL.
type Remote struct {
	// Profile is the AWS profile named before "@", or "" when the URL names
	// none (the caller then uses AWS_PROFILE, else "default").
	Profile string
	// Region is the region named by the codecommit::<region>:// form, or ""
	// when the URL names none.
	Region string
	// Repository is the CodeCommit repository name; it is always valid.
	Repository string
}

// MalformedURLError reports a remote URL in none of the accepted forms. Its
// message is the one AWS's git-remote-codecommit prints, word for word, so
// scripts and searches written for it keep working.
type MalformedURLError struct {
	URL string
}

func (e *MalformedURLError) Error() string {
	return "The following URL is malformed: " + e.URL + ". A URL must be in one of the two following formats: " +
		"codecommit://<profile>@<repository> or codecommit::<region>://<profile>@<repository>"
}

// regionPattern is the shape of an AWS region name: two letters, one or more
// words, a number (us-east-1, us-gov-west-1, ap-southeast-3).
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ValidRegionName reports whether s has the shape of an AWS region name. It
// says nothing about whether CodeCommit is offered there: see KnownRegion.
func ValidRegionName(s string) bool {
	return regionPattern.MatchString(s)
}

// ParseRemote parses the URL git hands a remote helper. git strips the
// "codecommit::" prefix of the region form, so the accepted inputs are
//
//	codecommit://[<profile>@]<repository>
//	<region>://[<profile>@]<repository>
//
// A trailing "/" is tolerated; any other path, a query, a fragment, an empty
// profile or an invalid repository name is refused.
func ParseRemote(raw string) (Remote, error) {
	malformed := &MalformedURLError{URL: raw}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return Remote{}, malformed
	}
	var r Remote
	switch {
	case scheme == "codecommit":
	case ValidRegionName(scheme):
		r.Region = scheme
	default:
		return Remote{}, malformed
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.ContainsAny(rest, "/?#") {
		return Remote{}, malformed
	}
	if profile, repo, ok := strings.Cut(rest, "@"); ok {
		if profile == "" {
			return Remote{}, malformed
		}
		r.Profile, rest = profile, repo
	}
	if err := ValidateRepositoryName(rest); err != nil {
		return Remote{}, fmt.Errorf("%w (%w)", malformed, err)
	}
	r.Repository = rest
	return r, nil
}

// MaxRepositoryNameLength is CodeCommit's limit on repository names.
const MaxRepositoryNameLength = 100

// ErrInvalidRepositoryName is wrapped by every repository-name error.
var ErrInvalidRepositoryName = errors.New("invalid CodeCommit repository name")

// ValidateRepositoryName checks name against CodeCommit's rules: 1 to 100
// ASCII letters, digits, ".", "_" and "-", and not "." or "..".
func ValidateRepositoryName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidRepositoryName)
	case len(name) > MaxRepositoryNameLength:
		return fmt.Errorf("%w: %d characters, the limit is %d", ErrInvalidRepositoryName, len(name), MaxRepositoryNameLength)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is reserved", ErrInvalidRepositoryName, name)
	case strings.HasSuffix(name, ".amazonaws.com") || strings.HasSuffix(name, ".amazonaws.com.cn"):
		return fmt.Errorf("%w: %q is a host name; give the repository name only", ErrInvalidRepositoryName, name)
	}
	for i := 0; i < len(name); i++ {
		if !repositoryChar(name[i]) {
			return fmt.Errorf("%w: %q may hold only letters, digits, '.', '_' and '-'", ErrInvalidRepositoryName, name)
		}
	}
	return nil
}

func repositoryChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '-'
}
