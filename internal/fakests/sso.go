package fakests

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The SSO state: sessions (one per sign-in), the access and refresh tokens
// issued in them, the OIDC clients registered, the sign-ins under way and
// which user may use which account and role. The portal's half (role
// credentials, account lists, logout) is here; the OIDC service's half is
// in oidc.go and its pages in oidcpages.go.

// DefaultSSOUser is who signs in at the authorize and device pages and in
// ApproveDevice until SetSSOUser names another.
const DefaultSSOUser = "sso-user"

// Defaults of the SSO knobs, as IAM Identity Center's: one-hour access
// tokens in an eight-hour session, client registrations for 90 days.
const (
	defaultAccessLifetime       = time.Hour
	defaultSessionLifetime      = 8 * time.Hour
	defaultRegistrationLifetime = 90 * 24 * time.Hour
)

// ssoSession is one sign-in: it ends at expires or when revoked, and every
// token issued in it ends with it.
type ssoSession struct {
	user    string
	expires time.Time
	revoked bool
}

func (s *ssoSession) live(now time.Time) bool { return !s.revoked && now.Before(s.expires) }

type ssoToken struct {
	session *ssoSession
	expires time.Time
}

type refreshToken struct {
	session  *ssoSession
	clientID string // "" for a seeded token any registered client may redeem
	used     bool
}

type assignment struct{ user, account, role string }

type ssoState struct {
	mu                   sync.Mutex
	user                 string
	accessLifetime       time.Duration
	sessionLifetime      time.Duration
	registrationLifetime time.Duration
	accessTokens         map[string]ssoToken
	refreshTokens        map[string]*refreshToken
	assignments          map[assignment]bool
	clients              map[string]*oidcClient
	pending              map[string]*pendingAuthorize // by request id
	codes                map[string]*authCode
	devices              map[string]*deviceAuth // by device code
	userCodes            map[string]string      // user code → device code
	grants               map[string]int         // CreateToken calls by grant type
}

func newSSOState() *ssoState {
	return &ssoState{
		user:                 DefaultSSOUser,
		accessLifetime:       defaultAccessLifetime,
		sessionLifetime:      defaultSessionLifetime,
		registrationLifetime: defaultRegistrationLifetime,
		accessTokens:         map[string]ssoToken{},
		refreshTokens:        map[string]*refreshToken{},
		assignments:          map[assignment]bool{},
		clients:              map[string]*oidcClient{},
		pending:              map[string]*pendingAuthorize{},
		codes:                map[string]*authCode{},
		devices:              map[string]*deviceAuth{},
		userCodes:            map[string]string{},
		grants:               map[string]int{},
	}
}

// AddSSOToken makes accessToken valid for the SSO portal until expires, as
// `aws sso login` would leave it in ~/.aws/sso/cache, for user (in a session
// of its own that ends when the token does).
func (s *Server) AddSSOToken(accessToken, user string, expires time.Time) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.accessTokens[accessToken] = ssoToken{&ssoSession{user: user, expires: expires}, expires}
}

// AddSSORefreshToken makes token redeemable once at SSO OIDC
// CreateToken, by any registered client, in a new session of user's.
func (s *Server) AddSSORefreshToken(token, user string) {
	now := s.clock()
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.refreshTokens[token] = &refreshToken{session: &ssoSession{user: user, expires: now.Add(s.sso.sessionLifetime)}}
}

// AssignSSO lets user get credentials for role in account at the portal; a
// user gets ForbiddenException for every account and role not assigned.
func (s *Server) AssignSSO(user, account, role string) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.assignments[assignment{user, account, role}] = true
}

// SetSSOUser makes user the one who signs in at the authorize and device
// pages and in ApproveDevice (default DefaultSSOUser).
func (s *Server) SetSSOUser(user string) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.user = user
}

// SetSSOLifetimes sets how long access tokens and sessions issued from now
// on last (zero: the default, one and eight hours). A client registered for
// refresh tokens gets access tokens of the access lifetime, never past the
// session's end; one registered without gets one access token that lasts
// the session.
func (s *Server) SetSSOLifetimes(access, session time.Duration) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.accessLifetime = cmpOr(access, defaultAccessLifetime)
	s.sso.sessionLifetime = cmpOr(session, defaultSessionLifetime)
}

// SetSSORegistrationLifetime sets how long client registrations made from
// now on last (zero: the default, 90 days).
func (s *Server) SetSSORegistrationLifetime(d time.Duration) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.registrationLifetime = cmpOr(d, defaultRegistrationLifetime)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// RevokeSSOSession ends the session that token (an access or refresh token)
// was issued in: its access tokens stop working at the portal and its
// refresh tokens at CreateToken. It reports whether it found the session.
func (s *Server) RevokeSSOSession(token string) bool {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	if t, ok := s.sso.accessTokens[token]; ok {
		t.session.revoked = true
		return true
	}
	if t, ok := s.sso.refreshTokens[token]; ok {
		t.session.revoked = true
		return true
	}
	return false
}

// ssoHandler returns the handler of an SSO portal or SSO OIDC path, or nil.
func (s *Server) ssoHandler(path string) http.HandlerFunc {
	switch path {
	case "/federation/credentials":
		return s.getRoleCredentials
	case "/assignment/accounts":
		return s.listAccounts
	case "/assignment/roles":
		return s.listAccountRoles
	case "/logout":
		return s.logout
	case "/client/register":
		return s.registerClient
	case "/device_authorization":
		return s.startDeviceAuthorization
	case "/token":
		return s.createToken
	case "/authorize":
		return s.authorizePage
	case "/device":
		return s.devicePage
	}
	if strings.HasPrefix(path, "/federation/") || strings.HasPrefix(path, "/assignment/") {
		return func(w http.ResponseWriter, _ *http.Request) {
			writeJSONError(w, 404, "ResourceNotFoundException", "no such path")
		}
	}
	return nil
}

// writeJSONError answers as the SSO portal does: the error's name in
// X-Amzn-Errortype, a message in the body.
func writeJSONError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	writeJSONStatus(w, status, map[string]string{"message": msg})
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// portalCall records a portal call of action and checks its bearer token:
// it returns the token's session, or false after answering the fault or
// UnauthorizedException.
func (s *Server) portalCall(w http.ResponseWriter, r *http.Request, action string) (*ssoSession, bool) {
	token := r.Header.Get("X-Amz-Sso_bearer_token")
	now := s.clock()
	s.sso.mu.Lock()
	t, ok := s.sso.accessTokens[token]
	ok = ok && now.Before(t.expires) && t.session.live(now)
	var user string
	if ok {
		user = t.session.user
	}
	s.sso.mu.Unlock()
	fault, failing, latency := s.record(action, user)
	if latency > 0 {
		time.Sleep(latency)
	}
	switch {
	case failing:
		writeJSONError(w, fault.Status, fault.Code, fault.Message)
		return nil, false
	case !ok:
		writeJSONError(w, 401, "UnauthorizedException", "Session token not found or invalid")
		return nil, false
	}
	return t.session, true
}

// getRoleCredentials answers GetRoleCredentials
// (GET /federation/credentials?account_id=…&role_name=…).
func (s *Server) getRoleCredentials(w http.ResponseWriter, r *http.Request) {
	session, ok := s.portalCall(w, r, "GetRoleCredentials")
	if !ok {
		return
	}
	q := r.URL.Query()
	role, account := q.Get("role_name"), q.Get("account_id")
	if role == "" || account == "" {
		writeJSONError(w, 400, "InvalidRequestException", "role_name and account_id are required")
		return
	}
	s.sso.mu.Lock()
	assigned := s.sso.assignments[assignment{session.user, account, role}]
	s.sso.mu.Unlock()
	if !assigned {
		writeJSONError(w, 403, "ForbiddenException", "No access")
		return
	}
	id := s.issue("arn:aws:sts::"+account+":assumed-role/AWSReservedSSO_"+role+"/"+session.user, session.user, false, time.Hour)
	writeJSONStatus(w, 200, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     id.AccessKeyID,
		"secretAccessKey": id.SecretAccessKey,
		"sessionToken":    id.SessionToken,
		"expiration":      id.Expires.UnixMilli(),
	}})
}

// listAccounts answers ListAccounts (GET /assignment/accounts): every
// account the user has a role in, in one page.
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	session, ok := s.portalCall(w, r, "ListAccounts")
	if !ok {
		return
	}
	accounts := []map[string]string{}
	seen := map[string]bool{}
	for _, a := range s.assigned(session.user, "") {
		if !seen[a.account] {
			seen[a.account] = true
			accounts = append(accounts, map[string]string{"accountId": a.account, "accountName": "account-" + a.account, "emailAddress": "aws+" + a.account + "@example.com"})
		}
	}
	writeJSONStatus(w, 200, map[string]any{"accountList": accounts})
}

// listAccountRoles answers ListAccountRoles
// (GET /assignment/roles?account_id=…): the user's roles there, in one page.
func (s *Server) listAccountRoles(w http.ResponseWriter, r *http.Request) {
	session, ok := s.portalCall(w, r, "ListAccountRoles")
	if !ok {
		return
	}
	account := r.URL.Query().Get("account_id")
	if account == "" {
		writeJSONError(w, 400, "InvalidRequestException", "account_id is required")
		return
	}
	roles := []map[string]string{}
	for _, a := range s.assigned(session.user, account) {
		roles = append(roles, map[string]string{"accountId": a.account, "roleName": a.role})
	}
	writeJSONStatus(w, 200, map[string]any{"roleList": roles})
}

// assigned returns user's assignments (in account, unless ""), sorted.
func (s *Server) assigned(user, account string) []assignment {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	var out []assignment
	for a := range s.sso.assignments {
		if a.user == user && (account == "" || a.account == account) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b assignment) int {
		return strings.Compare(a.account+"/"+a.role, b.account+"/"+b.role)
	})
	return out
}

// logout answers Logout (POST /logout): the token's session ends.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	session, ok := s.portalCall(w, r, "Logout")
	if !ok {
		return
	}
	s.sso.mu.Lock()
	session.revoked = true
	s.sso.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
