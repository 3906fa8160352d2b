package transport

import (
	"net/http"
	"strings"

	"github.com/codecommitd/codecommitd/internal/codecommit"
)

// route is one of git's smart-HTTP requests for a repository.
type route struct {
	repo    string
	service string // git-upload-pack or git-receive-pack
	advert  bool   // GET info/refs?service=…; else the POST to the service
}

// suffix is the path after /v1/repos/<repo>.
func (r route) suffix() string {
	if r.advert {
		return "/info/refs"
	}
	return "/" + r.service
}

// query is the request's query.
func (r route) query() string {
	if r.advert {
		return "service=" + r.service
	}
	return ""
}

// parseRoute accepts git's smart-HTTP requests and nothing else: for
// /v1/repos/<repo> (a valid repository name, the path as sent, without
// escapes), GET info/refs?service=S and POST S, where S is git-upload-pack
// or git-receive-pack.
func parseRoute(method, path, rawQuery string) (route, *refusal) {
	notGit := &refusal{http.StatusNotFound, "not a smart-HTTP request of git's",
		"only git's smart-HTTP requests for a repository are forwarded"}
	rest, ok := strings.CutPrefix(path, "/v1/repos/")
	if !ok {
		return route{}, notGit
	}
	repo, what, ok := strings.Cut(rest, "/")
	if !ok || codecommit.ValidateRepositoryName(repo) != nil {
		return route{}, notGit
	}
	r := route{repo: repo}
	wantMethod := http.MethodPost
	switch what {
	case "info/refs":
		service, ok := strings.CutPrefix(rawQuery, "service=")
		if !ok || !isService(service) {
			return route{}, notGit
		}
		r.service, r.advert, wantMethod = service, true, http.MethodGet
	case "git-upload-pack", "git-receive-pack":
		if rawQuery != "" {
			return route{}, notGit
		}
		r.service = what
	default:
		return route{}, notGit
	}
	if method != wantMethod {
		return route{}, &refusal{http.StatusMethodNotAllowed, "method " + method + " for " + what,
			"only git's smart-HTTP requests for a repository are forwarded"}
	}
	return r, nil
}

func isService(s string) bool { return s == "git-upload-pack" || s == "git-receive-pack" }
