// Package gitserver is a stand-in for a CodeCommit git endpoint: real
// `git http-backend` behind net/http/cgi over HTTPS, guarded the way
// CodeCommit guards it. Every request must carry HTTP Basic credentials whose
// username is an access key id (plus "%" and its session token) that the fake
// STS issued or knows, and whose password is a CodeCommit SigV4 signature
// that this package recomputes with its own code (it shares nothing with the
// signer under test). No credentials get 401 with a Basic challenge, as
// CodeCommit answers; wrong ones get 403. It speaks HTTP/2 or HTTP/1.1 and
// counts the connections and TLS handshakes it serves (Conns, in conns.go).
//
// Knobs make it misbehave as a test needs: answer late (SetLatency), on
// another clock (SetClock), with a redirect instead (SetRedirect), or with a
// 401 whatever a request carries (Challenge). A Mirror is a second endpoint
// for a redirect to point at, which records what reaches it.
//
// Like package fakests it is test infrastructure, shared by the end-to-end
// tests and `make demo`.
package gitserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
)

// Request records one request the server answered.
type Request struct {
	Path      string
	Status    int
	Principal string // ARN of the signer, "" when unauthenticated
	// Session is the role session name of an assumed-role principal.
	Session string
	// Reason says why a request was refused.
	Reason string
	// Method is GET or POST.
	Method string
	// Extra holds the request's X-… headers, to see a client's own extra
	// headers arrive.
	Extra http.Header
	// Credentials reports whether an Authorization header arrived (its
	// value is never kept).
	Credentials bool
}

// Redirect is how the server answers instead of serving: with Status
// (301, 302, 303, 307, 308) and a Location of To (scheme://host:port)
// followed by the request's own path and query. Method "GET" redirects only
// the info/refs requests, "POST" only the POSTs, "" every request. The
// zero Redirect serves every request.
type Redirect struct {
	Status int
	To     string
	Method string
}

// Server is a fake CodeCommit git endpoint.
type Server struct {
	// Host is host:port, the value for CODE_COMMIT_ENDPOINT.
	Host string
	// CAFile is a PEM file to trust, the value for GIT_SSL_CAINFO. It
	// holds the one certificate of the server and its mirrors, which names
	// 127.0.0.1, ::1 and localhost.
	CAFile string
	// Root holds the bare repositories, at Root/v1/repos/<name>.
	Root string

	region   string
	sts      *fakests.Server
	git      string
	cert     tls.Certificate
	http     *httptest.Server
	now      func() time.Time
	counter  connCounter
	onAuth   func(Request)
	redirect Redirect
	// challenges is how many requests are still to be answered 401.
	challenges int

	mu       sync.Mutex
	requests []Request
	// arrived and unauthorized count requests as they arrive and as 401s
	// are answered, before any record is written.
	arrived, unauthorized int
}

// New starts a server in dir that accepts signatures for region made with
// credentials known to sts.
func New(dir, region string, sts *fakests.Server, opts ...Option) (*Server, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("gitserver needs git on PATH: %w", err)
	}
	s := &Server{Root: filepath.Join(dir, "srv"), region: region, sts: sts, git: git, now: time.Now}
	if err := os.MkdirAll(filepath.Join(s.Root, "v1", "repos"), 0o755); err != nil {
		return nil, err
	}
	cert, pemBytes, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s.cert = cert
	s.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(s.CAFile, pemBytes, 0o644); err != nil {
		return nil, err
	}
	s.http = s.start(opts)
	s.Host = strings.TrimPrefix(s.http.URL, "https://")
	return s, nil
}

// serve starts h on a port of 127.0.0.1, over TLS with the server's
// certificate or over plain http.
func (s *Server) serve(h http.Handler, useTLS bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	if !useTLS {
		srv.Start()
		return srv
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.cert}}
	srv.StartTLS()
	return srv
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// SetClock replaces the server's clock, for signature-age checks.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetRedirect makes the server answer with r instead of serving (the zero
// Redirect: serve again). It redirects before it looks at credentials, as
// a repository that moved does.
func (s *Server) SetRedirect(r Redirect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirect = r
}

// Challenge makes the server answer the next n requests 401 with a Basic
// challenge whatever credentials they carry, as a server or proxy that
// asks before it looks does: git then runs its credential helpers.
func (s *Server) Challenge(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.challenges = n
}

// OnRequest calls fn with each request's record as it is answered, before
// the next request is read: a test can move the clock between two requests
// of one git operation.
func (s *Server) OnRequest(fn func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onAuth = fn
}

// CreateRepo makes an empty bare repository that accepts pushes.
func (s *Server) CreateRepo(name string) error {
	dir := filepath.Join(s.Root, "v1", "repos", name)
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", dir},
		{"-C", dir, "config", "http.receivepack", "true"},
	} {
		if out, err := exec.Command(s.git, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// RepoDir returns the directory of repository name.
func (s *Server) RepoDir(name string) string { return filepath.Join(s.Root, "v1", "repos", name) }

// Seen returns how many requests have arrived so far and how many of them
// were answered 401: counts a client can read as soon as it is done, where
// Requests may still lack the last one's record.
func (s *Server) Seen() (requests, unauthorized int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrived, s.unauthorized
}

// Requests returns every request answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(req *http.Request, r Request) {
	r.Method = req.Method
	_, r.Credentials = req.Header["Authorization"]
	for k, v := range req.Header {
		if strings.HasPrefix(k, "X-") {
			if r.Extra == nil {
				r.Extra = http.Header{}
			}
			r.Extra[k] = append([]string(nil), v...)
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, r)
	fn := s.onAuth
	s.mu.Unlock()
	if fn != nil {
		fn(r)
	}
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// ServeHTTP authenticates the request and hands it to git http-backend.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	redirect := s.redirect
	challenge := s.challenges > 0
	if challenge {
		s.challenges--
	}
	s.arrived++
	s.mu.Unlock()
	if redirect.Status != 0 && (redirect.Method == "" || redirect.Method == r.Method) {
		s.record(r, Request{Path: r.URL.Path, Status: redirect.Status, Reason: "redirected to " + redirect.To})
		w.Header().Set("Location", redirect.To+r.URL.RequestURI())
		w.WriteHeader(redirect.Status)
		return
	}
	const prefix = "/v1/repos/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	repo, _, _ := strings.Cut(rest, "/")
	if !ok || repo == "" {
		s.record(r, Request{Path: r.URL.Path, Status: 404, Reason: "not a repository path"})
		http.NotFound(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || challenge {
		s.mu.Lock()
		s.unauthorized++
		s.mu.Unlock()
		reason := "no credentials"
		if challenge {
			reason = "challenged whatever the request carried"
		}
		s.record(r, Request{Path: r.URL.Path, Status: 401, Reason: reason})
		w.Header().Set("WWW-Authenticate", `Basic realm="AWS CodeCommit"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	id, err := s.authenticate(user, pass, r.Host, prefix+repo)
	if err != nil {
		s.record(r, Request{Path: r.URL.Path, Status: 403, Reason: err.Error()})
		http.Error(w, "Forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	if _, err := os.Stat(s.RepoDir(repo)); err != nil {
		s.record(r, Request{Path: r.URL.Path, Status: 404, Principal: id.ARN, Session: id.RoleSessionName, Reason: "no such repository"})
		http.Error(w, "repository "+repo+" does not exist", http.StatusNotFound)
		return
	}
	status := s.backend(w, r, id.ARN)
	s.record(r, Request{Path: r.URL.Path, Status: status, Principal: id.ARN, Session: id.RoleSessionName})
}

// backend hands r to git http-backend on the server's repositories, as
// user (REMOTE_USER; "" for nobody), and returns the status it answered.
func (s *Server) backend(w http.ResponseWriter, r *http.Request, user string) int {
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	h := &cgi.Handler{
		Path: s.git,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + user,
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.Root,
		},
		InheritEnv: []string{"PATH"},
	}
	h.ServeHTTP(rec, r)
	return rec.status
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// authenticate checks a CodeCommit username and signed password.
func (s *Server) authenticate(user, pass, host, path string) (fakests.Identity, error) {
	akid, token, _ := strings.Cut(user, "%")
	id, ok := s.sts.Lookup(akid)
	now := s.clock()
	switch {
	case !ok:
		return id, fmt.Errorf("unknown access key id")
	case id.SessionToken != token:
		return id, fmt.Errorf("session token does not match the access key id")
	case !id.Expires.IsZero() && !now.Before(id.Expires):
		return id, fmt.Errorf("credentials expired at %s", id.Expires.Format(time.RFC3339))
	}
	ts, sig, ok := strings.Cut(pass, "Z")
	if !ok || len(ts) != 15 || len(sig) != 64 {
		return id, fmt.Errorf("password is not <timestamp>Z<signature>")
	}
	at, err := time.Parse("20060102T150405", ts)
	if err != nil {
		return id, fmt.Errorf("bad timestamp %q", ts)
	}
	if age := now.Sub(at); age > 15*time.Minute || age < -5*time.Minute {
		return id, fmt.Errorf("signature timestamp %s is outside the 15-minute window", ts)
	}
	canonical := "GIT\n" + path + "\n\nhost:" + host + "\n\nhost\n"
	digest := sha256.Sum256([]byte(canonical))
	scope := ts[:8] + "/" + s.region + "/codecommit/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + hex.EncodeToString(digest[:])
	key := []byte("AWS4" + id.SecretAccessKey)
	for _, part := range []string{ts[:8], s.region, "codecommit", "aws4_request"} {
		key = mac(key, part)
	}
	if want := hex.EncodeToString(mac(key, toSign)); !hmac.Equal([]byte(want), []byte(sig)) {
		return id, fmt.Errorf("signature does not match (host %s, path %s, region %s)", host, path, s.region)
	}
	return id, nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
