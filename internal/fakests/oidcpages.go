package fakests

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The pages a person sees while signing in: the authorize page of the
// authorization code grant (GET /authorize, answered by its form's POST with
// a redirect to the client's loopback listener) and the device page of the
// device code grant (/device?user_code=…). Each has an "Allow" and a "Deny"
// button; whoever SetSSOUser names is the one signed in.

// loopbackCallback checks that raw is http://127.0.0.1[:port]/oauth/callback
// (with a port if needPort), the redirect URI the AWS CLI registers without
// a port and gives /authorize with its listener's (RFC 8252 7.3).
func loopbackCallback(raw string, needPort bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.User != nil:
		return errors.New("must be a loopback address, http://127.0.0.1:<port>/oauth/callback")
	case u.EscapedPath() != "/oauth/callback" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must be the path /oauth/callback, with no query or fragment")
	}
	port := u.Port()
	switch {
	case port == "" && u.Host != "127.0.0.1":
		return errors.New("has an empty port")
	case port == "" && needPort:
		return errors.New("needs the port the client listens on, http://127.0.0.1:<port>/oauth/callback")
	case port != "":
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return errors.New("has an invalid port")
		}
	}
	return nil
}

// authorizeRequest is a checked /authorize query.
type authorizeRequest struct {
	clientID, redirectURI, state, challenge string
}

// parseAuthorize checks an /authorize query as the AWS CLI builds it
// (response_type=code, client_id, redirect_uri, state, code_challenge,
// code_challenge_method=S256, scopes), before looking the client up.
func parseAuthorize(q url.Values) (authorizeRequest, error) {
	req := authorizeRequest{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), state: q.Get("state"), challenge: q.Get("code_challenge")}
	sum, err := base64.RawURLEncoding.DecodeString(req.challenge)
	switch {
	case q.Get("response_type") != "code":
		return req, errors.New("response_type must be code")
	case req.clientID == "":
		return req, errors.New("client_id is required")
	case q.Get("code_challenge_method") != "S256":
		return req, errors.New("code_challenge_method must be S256")
	case err != nil || len(sum) != 32:
		return req, errors.New("code_challenge must be the base64url SHA-256 of the code verifier")
	case req.state == "":
		return req, errors.New("state is required")
	}
	if err := loopbackCallback(req.redirectURI, true); err != nil {
		return req, errors.New("redirect_uri " + err.Error())
	}
	for _, v := range q["scopes"] {
		for _, sc := range strings.Fields(v) {
			if sc != ScopeAccountAccess {
				return req, fmt.Errorf("scope %q is not supported", sc)
			}
		}
	}
	return req, nil
}

// pendingAuthorize is an authorize page shown, until its Allow or Deny.
type pendingAuthorize struct {
	req     authorizeRequest
	expires time.Time
}

// authorizePage serves the authorize page (GET /authorize) and its form's
// answer (POST /authorize), which redirects to the client's redirect_uri
// with a code (Allow) or error=access_denied (Deny), and the state.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	now := s.clock()
	switch r.Method {
	case http.MethodGet:
		req, err := parseAuthorize(r.URL.Query())
		if err != nil {
			writePage(w, 400, page{Title: "Invalid sign-in request", Message: err.Error()})
			return
		}
		s.sso.mu.Lock()
		c, ok := s.sso.clients[req.clientID]
		switch {
		case !ok:
			err = errors.New("client_id is not a registered client")
		case !now.Before(c.expires):
			err = errors.New("the client's registration has expired")
		case !c.allows(GrantAuthorizationCode):
			err = errors.New("the client is not registered for the authorization_code grant")
		case !c.loopback:
			err = errors.New("redirect_uri is not registered for the client")
		}
		id, user := randomString(16), s.sso.user
		if err == nil {
			s.sso.pending[id] = &pendingAuthorize{req, now.Add(signInLifetime)}
		}
		s.sso.mu.Unlock()
		if err != nil {
			writePage(w, 400, page{Title: "Invalid sign-in request", Message: err.Error()})
			return
		}
		writePage(w, 200, page{
			Title:   "Allow " + c.name + " to access your data?",
			Message: "Signed in as " + user + ".",
			Form:    &form{Action: "/authorize", Request: id},
		})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
		if err := r.ParseForm(); err != nil {
			writePage(w, 400, page{Title: "Invalid sign-in request", Message: "malformed form"})
			return
		}
		id, decision := r.PostForm.Get("request"), r.PostForm.Get("decision")
		s.sso.mu.Lock()
		p := s.sso.pending[id]
		delete(s.sso.pending, id)
		live := p != nil && now.Before(p.expires)
		q := url.Values{}
		if live && decision == "allow" {
			code := randomString(24)
			s.sso.codes[code] = &authCode{clientID: p.req.clientID, redirectURI: p.req.redirectURI, challenge: p.req.challenge, user: s.sso.user, expires: now.Add(authCodeLifetime)}
			q.Set("code", code)
		}
		s.sso.mu.Unlock()
		switch {
		case !live:
			writePage(w, 400, page{Title: "Sign-in request expired", Message: "This sign-in request is unknown or has expired: start the sign-in again."})
			return
		case decision == "deny":
			q.Set("error", "access_denied")
		case decision != "allow":
			writePage(w, 400, page{Title: "Invalid sign-in request", Message: "decision must be allow or deny"})
			return
		}
		q.Set("state", p.req.state)
		http.Redirect(w, r, p.req.redirectURI+"?"+q.Encode(), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		writePage(w, 405, page{Title: "Method not allowed"})
	}
}

// devicePage serves the device page (GET /device?user_code=…) and its
// form's answer (POST /device), which approves or denies that user code.
func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.sso.mu.Lock()
		user := s.sso.user
		s.sso.mu.Unlock()
		writePage(w, 200, page{
			Title:   "Authorize request",
			Message: "Signed in as " + user + ". Allow only if the code matches the one your device shows.",
			Form:    &form{Action: "/device", UserCode: r.URL.Query().Get("user_code"), Device: true},
		})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
		if err := r.ParseForm(); err != nil {
			writePage(w, 400, page{Title: "Invalid request", Message: "malformed form"})
			return
		}
		allow := r.PostForm.Get("decision") == "allow"
		if err := s.decideDevice(r.PostForm.Get("user_code"), allow); err != nil {
			writePage(w, 400, page{Title: "Invalid request", Message: err.Error()})
			return
		}
		if allow {
			writePage(w, 200, page{Title: "Request approved", Message: "You can close this window."})
		} else {
			writePage(w, 200, page{Title: "Request denied", Message: "You can close this window."})
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writePage(w, 405, page{Title: "Method not allowed"})
	}
}

// ApproveDevice approves the device authorization of userCode as the
// signed-in user, as the device page's Allow button does: the client's next
// CreateToken poll gets tokens.
func (s *Server) ApproveDevice(userCode string) error { return s.decideDevice(userCode, true) }

// DenyDevice denies the device authorization of userCode, as the device
// page's Deny button does: the client's next poll gets AccessDeniedException.
func (s *Server) DenyDevice(userCode string) error { return s.decideDevice(userCode, false) }

func (s *Server) decideDevice(userCode string, approve bool) error {
	userCode = strings.ToUpper(strings.TrimSpace(userCode))
	now := s.clock()
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	d, ok := s.sso.devices[s.sso.userCodes[userCode]]
	switch {
	case !ok:
		return fmt.Errorf("no sign-in is waiting for code %q", userCode)
	case !now.Before(d.expires):
		return fmt.Errorf("code %q has expired: start the sign-in again", userCode)
	case d.state != devicePending:
		return fmt.Errorf("code %q was already answered", userCode)
	}
	if approve {
		d.state, d.user = deviceApproved, s.sso.user
	} else {
		d.state = deviceDenied
	}
	return nil
}

type page struct {
	Title, Message string
	Form           *form
}

type form struct {
	Action   string
	Request  string // the authorize request, a hidden field
	Device   bool   // ask for the user code
	UserCode string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{with .Message}}<p id="message">{{.}}</p>{{end}}
{{with .Form}}<form method="post" action="{{.Action}}">
{{with .Request}}<input type="hidden" name="request" value="{{.}}">{{end}}
{{if .Device}}<label for="user_code">Code</label> <input id="user_code" name="user_code" value="{{.UserCode}}">{{end}}
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>{{end}}
</body></html>
`))

func writePage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		io.WriteString(w, "cannot render the page")
	}
}
