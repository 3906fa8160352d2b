package gitserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Mirror is a second git endpoint, for a redirect to point at: it serves
// the repositories of the Server it was made from without asking for
// credentials (so a git that follows a redirect there carries on and sends
// what it has), and records every request as it arrives (before it is
// answered, so a client that is done has been recorded): its method, path
// and whether an Authorization header came with it (never its value).
type Mirror struct {
	// URL is scheme://host:port, the value for Redirect.To.
	URL string

	srv  *Server
	http *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// NewMirror starts a mirror of s on a port of 127.0.0.1, over https (with
// s's certificate) or, with plain, over http. Its URL names host, which
// must be 127.0.0.1 or localhost (both reach it, and the certificate names
// both).
func (s *Server) NewMirror(host string, plain bool) *Mirror {
	m := &Mirror{srv: s}
	m.http = s.serve(m, !plain)
	m.URL = strings.Replace(m.http.URL, "127.0.0.1", host, 1)
	return m
}

// Close stops the mirror.
func (m *Mirror) Close() { m.http.Close() }

// Requests returns every request that reached the mirror, in order.
func (m *Mirror) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.requests...)
}

// ServeHTTP serves r with git http-backend, without authentication.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, creds := r.Header["Authorization"]
	m.mu.Lock()
	m.requests = append(m.requests, Request{Path: r.URL.Path, Method: r.Method, Credentials: creds})
	m.mu.Unlock()
	m.srv.backend(w, r, "")
}
