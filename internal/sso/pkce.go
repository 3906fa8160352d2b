package sso

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

// callbackPath is where the authorize page sends the browser back.
const callbackPath = "/oauth/callback"

// loginPKCE signs s in with the authorization code grant and PKCE (S256):
// a listener on 127.0.0.1:0, the authorize page opened (or its URL
// printed), one callback with the right state, the code redeemed with the
// verifier, and a page that says how it went.
func (c *Client) loginPKCE(ctx context.Context, s Session, reg registration, o LoginOptions, open bool, deadline time.Time) (Token, error) {
	// 127.0.0.1 only, not every interface: nothing on the network can
	// reach the listener, and the redirect names this address.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return Token{}, &Error{Reason: ReasonLocal, Session: s, Err: err,
			Detail: "cannot listen on 127.0.0.1 for the sign-in's answer (" + errnoText(err) + "); sign in with the device code instead (--use-device-code)"}
	}
	redirect := fmt.Sprintf("http://127.0.0.1:%d%s", ln.Addr().(*net.TCPAddr).Port, callbackPath)
	verifier := random(48) // 64 characters of RFC 7636's unreserved set
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	cb := &callback{state: random(32), session: s, got: make(chan *answer, 1), gone: make(chan struct{})}
	authorize, err := c.authorizeURL(ctx, s, reg, redirect, cb.state, challenge)
	if err != nil {
		ln.Close()
		return Token{}, err
	}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)  //nolint:errcheck // ends with ErrServerClosed when the sign-in does
	defer srv.Close() //nolint:errcheck // after Shutdown, or when the sign-in ends without an answer
	defer close(cb.gone)

	if o.Show != nil {
		o.Show(Prompt{Session: s, AuthorizeURL: authorize, Expires: deadline})
	} else {
		c.printAuthorize(o.Out, s, authorize, open)
	}

	var a *answer
	select {
	case a = <-cb.got:
	case <-ctx.Done():
		what := "the sign-in page was not answered"
		if n := cb.refused(); n > 0 {
			what = fmt.Sprintf("%s (%d request(s) to the listener with another state were refused)", what, n)
		}
		return Token{}, loginEnded(ctx, s, what, c.cfg.LoginTimeout)
	}
	tok, err := c.redeem(ctx, s, reg, a, verifier, redirect)
	a.reply <- resultPage(s, err)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) //nolint:errcheck // waits for the page to be written; Close follows
	return tok, err
}

// printAuthorize tells the person at the terminal to open the authorize
// page, and opens it when open.
func (c *Client) printAuthorize(out io.Writer, s Session, authorize string, open bool) {
	fmt.Fprintf(out, "Signing in to IAM Identity Center for %s.\n", s)
	if open {
		if err := c.cfg.OpenURL(authorize); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%s).\n", openFailed(err))
		} else {
			fmt.Fprintf(out, "Your browser opens the sign-in page; if it does not,\n")
		}
	}
	fmt.Fprintf(out, "open this URL in a browser on this computer:\n\n  %s\n\n", authorize)
}

// redeem turns the callback's answer into a token: an error the authorize
// page sent back (access_denied: the person chose Deny), else the code
// redeemed with the verifier and the redirect URI.
func (c *Client) redeem(ctx context.Context, s Session, reg registration, a *answer, verifier, redirect string) (Token, error) {
	switch {
	case a.oauthErr == "access_denied":
		return Token{}, &Error{Reason: ReasonDenied, Session: s, Code: "access_denied"}
	case a.oauthErr != "":
		code := a.oauthErr
		if !errorCode.MatchString(code) {
			code = "an unknown error"
		}
		return Token{}, &Error{Reason: ReasonRefused, Session: s, Code: code, Detail: "the sign-in page sent back an error"}
	}
	out, err := c.oidc(s.Region).CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), GrantType: aws.String(grantAuthorizationCode),
		Code: aws.String(a.code), CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect),
	})
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, loginEnded(ctx, s, "the sign-in's code was not redeemed", c.cfg.LoginTimeout)
		}
		e := oidcError(s, "", ctx, err)
		if e.Reason == ReasonRevoked { // InvalidGrantException: the code, not a session
			e.Reason, e.Detail = ReasonRefused, "the sign-in's code was not accepted"
		}
		return Token{}, e
	}
	return c.newToken(s, reg, out), nil
}

// authorizeURL is the authorize page of s's OIDC endpoint, with the query
// the AWS CLI sends (SSOTokenFetcherAuth _get_authorization_uri), values
// percent-encoded as it does (a space as %20).
func (c *Client) authorizeURL(ctx context.Context, s Session, reg registration, redirect, state, challenge string) (string, error) {
	o := c.oidc(s.Region).Options()
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, ssooidc.EndpointParameters{
		Region: aws.String(s.Region), Endpoint: o.BaseEndpoint,
		UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	})
	if err != nil {
		return "", &Error{Reason: ReasonLocal, Session: s, Err: err, Detail: "no IAM Identity Center endpoint is known for sso_region " + s.Region + "; check sso_region"}
	}
	scopes := reg.Scopes
	if len(scopes) == 0 {
		scopes = []string{defaultScope}
	}
	var q strings.Builder
	for i, kv := range [][2]string{
		{"response_type", "code"}, {"client_id", reg.ClientID}, {"redirect_uri", redirect}, {"state", state},
		{"code_challenge_method", "S256"}, {"scopes", strings.Join(scopes, " ")}, {"code_challenge", challenge},
	} {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(kv[0] + "=" + strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	u := ep.URI
	u.Path = strings.TrimRight(u.Path, "/") + "/authorize"
	u.RawPath, u.RawQuery = "", q.String()
	return u.String(), nil
}

// answer is the one callback accepted: its code or error, and where the
// sign-in sends the page the browser is to show.
type answer struct {
	code, oauthErr string
	reply          chan page
}

// callback is the loopback listener's handler. It accepts exactly one
// request at callbackPath that carries the sign-in's state; a request with
// another state (or none) is refused with a 400 page and the sign-in goes
// on waiting, so a page elsewhere cannot end or steer it; every request
// after the accepted one is refused too.
type callback struct {
	state   string
	session Session
	got     chan *answer
	gone    chan struct{} // closed when the sign-in stops waiting

	mu          sync.Mutex
	taken       bool
	wrongStates int
}

func (cb *callback) refused() int {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.wrongStates
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != callbackPath {
		writePage(w, http.StatusNotFound, page{Title: "Not found", Message: "Return to the terminal."})
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writePage(w, http.StatusMethodNotAllowed, page{Title: "Method not allowed", Message: "Return to the terminal."})
		return
	}
	q := r.URL.Query()
	cb.mu.Lock()
	switch {
	case cb.taken:
		cb.mu.Unlock()
		writePage(w, http.StatusBadRequest, page{Title: "Sign-in already answered",
			Message: "codecommitd has already received the answer of this sign-in and ignored this one. Return to the terminal."})
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1:
		cb.wrongStates++
		cb.mu.Unlock()
		writePage(w, http.StatusBadRequest, page{Title: "Not the sign-in under way",
			Message: "This answer does not belong to the sign-in codecommitd is waiting for (its state differs), so it was ignored. Return to the terminal."})
		return
	case q.Get("code") == "" && q.Get("error") == "":
		cb.mu.Unlock()
		writePage(w, http.StatusBadRequest, page{Title: "Invalid sign-in answer", Message: "The answer has neither a code nor an error. Return to the terminal."})
		return
	}
	cb.taken = true
	cb.mu.Unlock()
	a := &answer{code: q.Get("code"), oauthErr: q.Get("error"), reply: make(chan page, 1)}
	cb.got <- a // the one accepted: room for it
	select {
	case p := <-a.reply:
		writePage(w, p.status, p)
	case <-cb.gone:
		writePage(w, http.StatusServiceUnavailable, page{Title: "Sign-in ended", Message: "The sign-in ended before this answer was used. Return to the terminal."})
	}
}

// resultPage is what the browser shows once the sign-in's answer is used.
func resultPage(s Session, err error) page {
	if err == nil {
		return page{status: http.StatusOK, Title: "Signed in",
			Message: "codecommitd signed " + s.String() + " in to IAM Identity Center. You can close this window and return to the terminal."}
	}
	what := "IAM Identity Center did not accept the sign-in"
	if ReasonOf(err) == ReasonDenied {
		what = "The sign-in was denied"
	}
	return page{status: http.StatusOK, Title: "Sign-in failed", Message: what + ". Return to the terminal to see what to do."}
}

type page struct {
	status         int
	Title, Message string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - codecommitd</title></head>
<body><h1>{{.Title}}</h1><p id="message">{{.Message}}</p></body></html>
`))

func writePage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	pageTemplate.Execute(w, p) //nolint:errcheck // the browser went away
}
