package codecommit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/codecommitd/codecommitd/internal/clean"
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
// message begins with the one AWS's git-remote-codecommit prints, word for
// word, so scripts and searches written for it keep working, and then says
// which part is wrong.
type MalformedURLError struct {
	URL string
	// Reason says which part is wrong and how.
	Reason string
}

func (e *MalformedURLError) Error() string {
	msg := "The following URL is malformed: " + clean.Line(e.URL, 200) + ". A URL must be in one of the two following formats: " +
		"codecommit://<profile>@<repository> or codecommit::<region>://<profile>@<repository>"
	if e.Reason != "" {
		msg += ". What is wrong: " + e.Reason
	}
	return msg
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
	bad := func(format string, args ...any) (Remote, error) {
		return Remote{}, &MalformedURLError{URL: raw, Reason: fmt.Sprintf(format, args...)}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	switch {
	case !ok:
		return bad("it has no :// (write codecommit://<repository>)")
	case scheme == "":
		return bad("nothing comes before ://")
	}
	var r Remote
	switch {
	case scheme == "codecommit":
	case ValidRegionName(scheme):
		r.Region = scheme
	case scheme == "https" || scheme == "http":
		return bad("it is an %s:// URL; use it with git as it is, and git-credential-codecommit for the password (see README)", scheme)
	case strings.HasPrefix(scheme, "codecommit:"):
		return bad("%q is not codecommit or codecommit::<region>", clean.Line(scheme, 60))
	default:
		return bad("%q (from codecommit::%s://) is not an AWS region name, like eu-west-1", clean.Line(scheme, 60), clean.Line(scheme, 60))
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return bad("it names no repository after ://")
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return bad("after the repository name comes %q; the URL holds only [<profile>@]<repository>", clean.Line(rest[i:], 60))
	}
	if profile, repo, ok := strings.Cut(rest, "@"); ok {
		if profile == "" {
			return bad("the profile before @ is empty; name one, or leave out the @")
		}
		r.Profile, rest = profile, repo
	}
	if err := ValidateRepositoryName(rest); err != nil {
		return Remote{}, &MalformedURLError{URL: raw, Reason: "the repository name: " + strings.TrimPrefix(err.Error(), ErrInvalidRepositoryName.Error()+": ")}
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
			return fmt.Errorf("%w: %q may hold only letters, digits, '.', '_' and '-'", ErrInvalidRepositoryName, clean.Line(name, MaxRepositoryNameLength))
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
