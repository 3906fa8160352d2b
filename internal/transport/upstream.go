package transport

import (
	"errors"
	"io"
	"net/http"
	"net/url"
)

// maxAttempts bounds how often one request is sent: a request that fails
// before any answer (on a connection the server had just closed, or that it
// sent a GOAWAY on) is sent again on another.
const maxAttempts = 3

// upstream sends forwarded requests to the endpoint: signed afresh, on the
// grant's pool, sent again where that is safe, watched for low speed.
type upstream struct{ t *Transport }

func (u upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	x := exchangeOf(req.Context())
	if x == nil {
		return nil, errors.New("transport: a request without a grant") // never: serve sets it
	}
	body := req.Body
	for attempt := 1; ; attempt++ {
		auth, err := x.g.Signer.Sign(req.Context(), x.g.Host, x.g.path)
		if err != nil {
			if body != nil {
				body.Close()
			}
			return nil, &signFailed{err}
		}
		out := req.Clone(req.Context())
		out.Header.Set("Authorization", auth)
		out.Body = body
		out, watch := watchSpeed(out, x.g, u.t.cfg.Logger)
		resp, sent, err := u.send(out, x.g.pool)
		if err == nil {
			watch.response(resp)
			return resp, nil
		}
		watch.stop()
		if slow := watch.err(); slow != nil {
			return nil, slow
		}
		// A connection that could not be had (the endpoint refused, its
		// certificate is not trusted) is no better a moment later. A
		// request that was sent and got no answer may just have met a
		// connection the server closed: net/http's own pool sends it
		// again only on a connection it reused, but an HTTP/2 server may
		// also send a GOAWAY on a connection before its first request.
		if !sent || attempt == maxAttempts || req.Context().Err() != nil || !replayable(req) {
			return nil, &unreachable{&url.Error{Op: req.Method, URL: "https://" + x.g.Host + "/", Err: err}, sent}
		}
		u.t.cfg.Logger.DebugContext(req.Context(), "sending a request again on another connection",
			"repository", x.g.Repository, "host", x.g.Host, "attempt", attempt+1)
		if req.GetBody != nil {
			if body, err = req.GetBody(); err != nil {
				return nil, err // never: the body is in memory
			}
		}
	}
}

// send sends req on a connection of p; sent reports whether it got one.
func (u upstream) send(req *http.Request, p *pool) (resp *http.Response, sent bool, err error) {
	c, err := p.acquire(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, false, err
	}
	resp, err = c.cc.RoundTrip(req)
	return resp, true, err
}

// replayable reports whether req's body is known whole (or it has none).
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// checkResponse turns what git must not see into errors (failed says
// them in one line) and drops the headers git has no use for.
func (t *Transport) checkResponse(resp *http.Response) error {
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400 && s != http.StatusNotModified:
		loc, err := resp.Location()
		if err != nil {
			loc = nil
		}
		drain(resp.Body)
		return &redirected{status: s, to: loc}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		drain(resp.Body)
		return &denied{status: s}
	}
	for _, h := range []string{"Set-Cookie", "Set-Cookie2", "Www-Authenticate", "Proxy-Authenticate", "Location", "Content-Location", "Alt-Svc", "Strict-Transport-Security"} {
		resp.Header.Del(h)
	}
	return nil
}

// Why a forwarded request failed; failed says each to git.
type (
	signFailed  struct{ err error }
	unreachable struct {
		err  error
		sent bool // the request went on a connection; else none could be had
	}
	redirected struct {
		status int
		to     *url.URL // nil: no Location
	}
	denied  struct{ status int }
	tooSlow struct{ limit, time string }
)

func (e *signFailed) Error() string  { return "signing failed: " + e.err.Error() }
func (e *signFailed) Unwrap() error  { return e.err }
func (e *unreachable) Error() string { return "cannot reach the endpoint: " + e.err.Error() }
func (e *unreachable) Unwrap() error { return e.err }
func (e *redirected) Error() string  { return "redirected" }
func (e *denied) Error() string      { return "denied" }
func (e *tooSlow) Error() string     { return "slower than http.lowSpeedLimit" }

// failed is the proxy's ErrorHandler: it tells git, in one ERR line, why
// its request failed, and logs it. A request git gave up on is not
// answered.
func (t *Transport) failed(w http.ResponseWriter, req *http.Request, err error) {
	x := exchangeOf(req.Context())
	if x == nil || req.Context().Err() != nil {
		return
	}
	msg := t.message(req.Context(), x, err)
	if !isSlow(err) { // the watch said it
		t.cfg.Logger.WarnContext(req.Context(), msg, "repository", x.g.Repository, "profile", x.g.Profile, "host", x.g.Host)
	}
	writeGitError(w, x, msg)
}

func isSlow(err error) bool {
	var s *tooSlow
	return errors.As(err, &s)
}

// drain reads a little of a response body git will not get, so that
// the connection can carry the next request.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}
