package fakests

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// The SSO OIDC service's API: RegisterClient, StartDeviceAuthorization and
// CreateToken, with the paths, JSON fields and errors of aws-sdk-go-v2's
// service/ssooidc and of the real service.

// Grant types of RegisterClient and CreateToken.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken      = "refresh_token"
)

var knownGrants = []string{GrantAuthorizationCode, GrantDeviceCode, GrantRefreshToken}

// ScopeAccountAccess is the scope of access to the portal's accounts, the
// one scope the fake knows (the AWS CLI's default).
const ScopeAccountAccess = "sso:account:access"

// Timing of sign-ins, as the real service's: a device code or an open
// authorize page lasts ten minutes, polled each second, five more after
// each SlowDownException; an authorization code lasts five minutes.
const (
	signInLifetime   = 10 * time.Minute
	deviceInterval   = time.Second
	slowDownStep     = 5 * time.Second
	authCodeLifetime = 5 * time.Minute
)

type oidcClient struct {
	name, secret string
	// grants are the grant types registered. None is a registration as
	// the AWS CLI makes for the device code grant: without scopes (a
	// legacy profile) the device code grant only, with no refresh tokens;
	// with scopes (an sso-session) refresh tokens too, as the service has
	// issued them to such registrations since CLI 2.9.
	grants   []string
	scoped   bool // registered with scopes
	loopback bool // registered the loopback redirect URI
	expires  time.Time
}

func (c *oidcClient) allows(grant string) bool {
	if len(c.grants) == 0 {
		return grant == GrantDeviceCode || (c.scoped && grant == GrantRefreshToken)
	}
	return slices.Contains(c.grants, grant)
}

type authCode struct {
	clientID, redirectURI, challenge, user string
	expires                                time.Time
	used                                   bool
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceRedeemed
)

type deviceAuth struct {
	clientID string
	expires  time.Time
	lastPoll time.Time
	interval time.Duration
	state    deviceState
	user     string // who approved it
}

// oidcErr is an error the OIDC service answers with: the exception's name
// and a description; status overrides the exception's usual HTTP status.
type oidcErr struct {
	exception, description string
	status                 int
}

func oidcFail(exception, description string) *oidcErr {
	return &oidcErr{exception: exception, description: description}
}

// oidcErrors maps each exception the fake answers with to its HTTP status
// and the OAuth error code in the body's "error", as the service sends them.
var oidcErrors = map[string]struct {
	status int
	code   string
}{
	"AccessDeniedException":          {400, "access_denied"},
	"AuthorizationPendingException":  {400, "authorization_pending"},
	"ExpiredTokenException":          {400, "expired_token"},
	"InternalServerException":        {500, "server_error"},
	"InvalidClientException":         {401, "invalid_client"},
	"InvalidClientMetadataException": {400, "invalid_client_metadata"},
	"InvalidGrantException":          {400, "invalid_grant"},
	"InvalidRedirectUriException":    {400, "invalid_redirect_uri"},
	"InvalidRequestException":        {400, "invalid_request"},
	"InvalidScopeException":          {400, "invalid_scope"},
	"SlowDownException":              {400, "slow_down"},
	"UnauthorizedClientException":    {400, "unauthorized_client"},
	"UnsupportedGrantTypeException":  {400, "unsupported_grant_type"},
}

// writeOIDCError answers e as the service does: the exception in
// X-Amzn-Errortype (with the service's namespace suffix), and
// {"error": <OAuth code>, "error_description": …} in the body.
func writeOIDCError(w http.ResponseWriter, e *oidcErr) {
	known, ok := oidcErrors[e.exception]
	if !ok {
		known.status, known.code = 400, "invalid_request"
	}
	if e.status != 0 {
		known.status = e.status
	}
	w.Header().Set("X-Amzn-Errortype", e.exception+":http://internal.amazon.com/coral/com.amazonaws.sso.oidc/")
	writeJSONStatus(w, known.status, map[string]string{"error": known.code, "error_description": e.description})
}

// decodeOIDC reads an OIDC API request's JSON body into req.
func decodeOIDC(r *http.Request, req any) error {
	if r.Method != http.MethodPost {
		return errors.New("the operation takes POST")
	}
	return json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(req)
}

// oidcRecord records a call of action by client and answers its fault or
// decodeErr, if any; it reports whether the call goes on.
func (s *Server) oidcRecord(w http.ResponseWriter, action, client string, decodeErr error) bool {
	fault, failing, latency := s.record(action, client)
	if latency > 0 {
		time.Sleep(latency)
	}
	switch {
	case failing:
		writeOIDCError(w, &oidcErr{fault.Code, fault.Message, fault.Status})
		return false
	case decodeErr != nil:
		writeOIDCError(w, oidcFail("InvalidRequestException", "malformed request body: "+decodeErr.Error()))
		return false
	}
	return true
}

// CreateTokenCalls returns how many CreateToken calls asked for grantType
// (GrantAuthorizationCode, GrantDeviceCode or GrantRefreshToken), answered
// or refused; Calls("CreateToken") counts them all.
func (s *Server) CreateTokenCalls(grantType string) int {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	return s.sso.grants[grantType]
}

// AddSSOClient registers a client as RegisterClient would, for every grant
// type, until expires: for tests that seed a token cache the AWS CLI
// would have written.
func (s *Server) AddSSOClient(clientID, clientSecret string, expires time.Time) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.clients[clientID] = &oidcClient{name: clientID, secret: clientSecret, grants: knownGrants, scoped: true, loopback: true, expires: expires}
}

type registerRequest struct {
	ClientName   string   `json:"clientName"`
	ClientType   string   `json:"clientType"`
	Scopes       []string `json:"scopes"`
	RedirectURIs []string `json:"redirectUris"`
	GrantTypes   []string `json:"grantTypes"`
	IssuerURL    string   `json:"issuerUrl"`
}

// checkRegistration is RegisterClient's validation, a ladder of checks.
func checkRegistration(req registerRequest) *oidcErr {
	switch {
	case req.ClientName == "":
		return oidcFail("InvalidRequestException", "clientName is required")
	case req.ClientType != "public":
		return oidcFail("InvalidClientMetadataException", "clientType must be public")
	}
	for _, g := range req.GrantTypes {
		if !slices.Contains(knownGrants, g) {
			return oidcFail("InvalidClientMetadataException", fmt.Sprintf("grant type %q is not supported", g))
		}
	}
	for _, sc := range req.Scopes {
		if sc != ScopeAccountAccess {
			return oidcFail("InvalidScopeException", fmt.Sprintf("scope %q is not supported", sc))
		}
	}
	authCode := slices.Contains(req.GrantTypes, GrantAuthorizationCode)
	if authCode && len(req.RedirectURIs) == 0 {
		return oidcFail("InvalidRedirectUriException", "redirectUris is required for the authorization_code grant")
	}
	for _, u := range req.RedirectURIs {
		if err := loopbackCallback(u, false); err != nil {
			return oidcFail("InvalidRedirectUriException", "redirect URI "+strconv.Quote(u)+": "+err.Error())
		}
	}
	if authCode || req.IssuerURL != "" {
		if err := checkHTTPSURL(req.IssuerURL); err != nil {
			return oidcFail("InvalidRequestException", "issuerUrl (the start URL) "+err.Error())
		}
	}
	return nil
}

func checkHTTPSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an https URL")
	}
	return nil
}

// registerClient answers RegisterClient (POST /client/register).
func (s *Server) registerClient(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if !s.oidcRecord(w, "RegisterClient", "", decodeOIDC(r, &req)) {
		return
	}
	if e := checkRegistration(req); e != nil {
		writeOIDCError(w, e)
		return
	}
	now := s.clock()
	id, secret := randomString(16), "secret-"+randomString(32)
	s.sso.mu.Lock()
	c := &oidcClient{name: req.ClientName, secret: secret, grants: req.GrantTypes, scoped: len(req.Scopes) > 0,
		loopback: len(req.RedirectURIs) > 0, expires: now.Add(s.sso.registrationLifetime)}
	s.sso.clients[id] = c
	s.sso.mu.Unlock()
	writeJSONStatus(w, 200, map[string]any{
		"clientId": id, "clientSecret": secret, "clientIdIssuedAt": now.Unix(), "clientSecretExpiresAt": c.expires.Unix(),
	})
}

// client returns the registered client id whose secret is secret. The
// caller holds st.mu.
func (st *ssoState) client(id, secret string, now time.Time) (*oidcClient, *oidcErr) {
	c, ok := st.clients[id]
	switch {
	case !ok || c.secret != secret:
		return nil, oidcFail("InvalidClientException", "Invalid client id or secret")
	case !now.Before(c.expires):
		return nil, oidcFail("InvalidClientException", "Client registration has expired: register again")
	}
	return c, nil
}

// startDeviceAuthorization answers StartDeviceAuthorization
// (POST /device_authorization).
func (s *Server) startDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		StartURL     string `json:"startUrl"`
	}
	decodeErr := decodeOIDC(r, &req)
	if !s.oidcRecord(w, "StartDeviceAuthorization", req.ClientID, decodeErr) {
		return
	}
	now := s.clock()
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	c, e := s.sso.client(req.ClientID, req.ClientSecret, now)
	switch {
	case e != nil:
	case !c.allows(GrantDeviceCode):
		e = oidcFail("UnauthorizedClientException", "the client is not registered for the device code grant")
	case checkHTTPSURL(req.StartURL) != nil:
		e = oidcFail("InvalidRequestException", "startUrl must be an https URL")
	}
	if e != nil {
		writeOIDCError(w, e)
		return
	}
	deviceCode, userCode := randomString(32), newUserCode()
	for s.sso.userCodes[userCode] != "" {
		userCode = newUserCode()
	}
	s.sso.devices[deviceCode] = &deviceAuth{clientID: req.ClientID, expires: now.Add(signInLifetime), interval: deviceInterval}
	s.sso.userCodes[userCode] = deviceCode
	writeJSONStatus(w, 200, map[string]any{
		"deviceCode": deviceCode, "userCode": userCode,
		"verificationUri":         s.URL + "/device",
		"verificationUriComplete": s.URL + "/device?" + url.Values{"user_code": {userCode}}.Encode(),
		"expiresIn":               int(signInLifetime.Seconds()), "interval": int(deviceInterval.Seconds()),
	})
}

// newUserCode makes a code such as "BCDF-GHJK" for a person to compare.
func newUserCode() string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

type createTokenRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	GrantType    string `json:"grantType"`
	DeviceCode   string `json:"deviceCode"`
	Code         string `json:"code"`
	CodeVerifier string `json:"codeVerifier"`
	RedirectURI  string `json:"redirectUri"`
	RefreshToken string `json:"refreshToken"`
}

// createToken answers CreateToken (POST /token) for the three grants.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	decodeErr := decodeOIDC(r, &req)
	s.sso.mu.Lock()
	s.sso.grants[req.GrantType]++
	s.sso.mu.Unlock()
	if !s.oidcRecord(w, "CreateToken", req.ClientID, decodeErr) {
		return
	}
	now := s.clock()
	s.sso.mu.Lock()
	out, e := s.sso.createToken(req, now)
	s.sso.mu.Unlock()
	if e != nil {
		writeOIDCError(w, e)
		return
	}
	writeJSONStatus(w, 200, out)
}

// createToken checks the client and redeems the grant, then issues tokens.
// The caller holds st.mu.
func (st *ssoState) createToken(req createTokenRequest, now time.Time) (map[string]any, *oidcErr) {
	c, e := st.client(req.ClientID, req.ClientSecret, now)
	switch {
	case e != nil:
		return nil, e
	case !slices.Contains(knownGrants, req.GrantType):
		return nil, oidcFail("UnsupportedGrantTypeException", fmt.Sprintf("grant type %q is not supported", req.GrantType))
	case !c.allows(req.GrantType):
		return nil, oidcFail("UnauthorizedClientException", fmt.Sprintf("the client is not registered for the %s grant", req.GrantType))
	}
	var session *ssoSession
	switch req.GrantType {
	case GrantAuthorizationCode:
		session, e = st.redeemCode(req, now)
	case GrantDeviceCode:
		session, e = st.redeemDevice(req, now)
	case GrantRefreshToken:
		session, e = st.redeemRefresh(req, now)
	}
	if e != nil {
		return nil, e
	}
	return st.issueTokens(session, req.ClientID, c, now), nil
}

// pkceS256 is RFC 7636's S256 code challenge of a code verifier.
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// redeemCode checks an authorization code grant; a code is redeemed once.
func (st *ssoState) redeemCode(req createTokenRequest, now time.Time) (*ssoSession, *oidcErr) {
	code, ok := st.codes[req.Code]
	switch {
	case !ok || code.clientID != req.ClientID:
		return nil, oidcFail("InvalidGrantException", "Invalid authorization code provided")
	case code.used:
		return nil, oidcFail("InvalidGrantException", "Authorization code has already been used")
	case !now.Before(code.expires):
		return nil, oidcFail("InvalidGrantException", "Authorization code has expired")
	case req.RedirectURI != code.redirectURI:
		return nil, oidcFail("InvalidGrantException", "redirectUri does not match the redirect_uri of the authorization")
	case len(req.CodeVerifier) < 43 || len(req.CodeVerifier) > 128:
		return nil, oidcFail("InvalidRequestException", "codeVerifier must be 43 to 128 characters")
	case pkceS256(req.CodeVerifier) != code.challenge:
		return nil, oidcFail("InvalidGrantException", "codeVerifier does not match the code_challenge of the authorization")
	}
	code.used = true
	return &ssoSession{user: code.user, expires: now.Add(st.sessionLifetime)}, nil
}

// redeemDevice checks a device code grant: pending until approved,
// SlowDownException (and five seconds more between polls) when polled
// faster than the interval.
func (st *ssoState) redeemDevice(req createTokenRequest, now time.Time) (*ssoSession, *oidcErr) {
	d, ok := st.devices[req.DeviceCode]
	if !ok || d.clientID != req.ClientID {
		return nil, oidcFail("InvalidGrantException", "Invalid device code provided")
	}
	if !now.Before(d.expires) {
		return nil, oidcFail("ExpiredTokenException", "Device code has expired")
	}
	last := d.lastPoll
	d.lastPoll = now
	switch d.state {
	case deviceDenied:
		return nil, oidcFail("AccessDeniedException", "The user denied the authorization request")
	case deviceRedeemed:
		return nil, oidcFail("InvalidGrantException", "Device code has already been used")
	case devicePending:
		if !last.IsZero() && now.Sub(last) < d.interval {
			d.interval += slowDownStep
			return nil, oidcFail("SlowDownException", "Client is polling too fast")
		}
		return nil, oidcFail("AuthorizationPendingException", "Authorization is still pending")
	}
	d.state = deviceRedeemed
	return &ssoSession{user: d.user, expires: now.Add(st.sessionLifetime)}, nil
}

// redeemRefresh checks a refresh token grant; a refresh token is redeemed
// once, in a live session.
func (st *ssoState) redeemRefresh(req createTokenRequest, now time.Time) (*ssoSession, *oidcErr) {
	t, ok := st.refreshTokens[req.RefreshToken]
	switch {
	case !ok || (t.clientID != "" && t.clientID != req.ClientID):
		return nil, oidcFail("InvalidGrantException", "Invalid refresh token provided")
	case t.used:
		return nil, oidcFail("InvalidGrantException", "Refresh token has already been used")
	case !t.session.live(now):
		return nil, oidcFail("InvalidGrantException", "The session has expired or was revoked: sign in again")
	}
	t.used = true
	return t.session, nil
}

// issueTokens makes an access token in session, and a refresh token if the
// client is registered for them. The caller holds st.mu.
func (st *ssoState) issueTokens(session *ssoSession, clientID string, c *oidcClient, now time.Time) map[string]any {
	access := "access-" + randomString(24)
	expires := session.expires
	out := map[string]any{"accessToken": access, "tokenType": "Bearer"}
	if c.allows(GrantRefreshToken) {
		expires = minTime(expires, now.Add(st.accessLifetime))
		refresh := "refresh-" + randomString(24)
		st.refreshTokens[refresh] = &refreshToken{session: session, clientID: clientID}
		out["refreshToken"] = refresh
	}
	st.accessTokens[access] = ssoToken{session, expires}
	out["expiresIn"] = int(expires.Sub(now) / time.Second)
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
