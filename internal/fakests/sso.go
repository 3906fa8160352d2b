package fakests

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

type ssoToken struct {
	expires time.Time
	user    string
}

type ssoState struct {
	mu            sync.Mutex
	accessTokens  map[string]ssoToken
	refreshTokens map[string]string // refresh token → user
}

func newSSOState() *ssoState {
	return &ssoState{accessTokens: map[string]ssoToken{}, refreshTokens: map[string]string{}}
}

// AddSSOToken makes accessToken valid for GetRoleCredentials until expires,
// as `aws sso login` would leave it in ~/.aws/sso/cache, for user.
func (s *Server) AddSSOToken(accessToken, user string, expires time.Time) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.accessTokens[accessToken] = ssoToken{expires, user}
}

// AddSSORefreshToken makes refreshToken redeemable at SSO OIDC CreateToken.
func (s *Server) AddSSORefreshToken(refreshToken, user string) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	s.sso.refreshTokens[refreshToken] = user
}

func writeJSONError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg, "error": typ, "error_description": msg})
}

// serveSSO answers the SSO portal's GetRoleCredentials
// (GET /federation/credentials?account_id=…&role_name=…).
func (s *Server) serveSSO(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-Amz-Sso_bearer_token")
	s.sso.mu.Lock()
	t, ok := s.sso.accessTokens[token]
	s.sso.mu.Unlock()
	fault, failing, latency := s.record("GetRoleCredentials", t.user)
	if latency > 0 {
		time.Sleep(latency)
	}
	switch {
	case failing:
		writeJSONError(w, fault.Status, fault.Code, fault.Message)
		return
	case r.URL.Path != "/federation/credentials":
		writeJSONError(w, 404, "ResourceNotFoundException", "no such path")
		return
	case !ok || !s.clock().Before(t.expires):
		writeJSONError(w, 401, "UnauthorizedException", "Session token not found or invalid")
		return
	}
	q := r.URL.Query()
	role, account := q.Get("role_name"), q.Get("account_id")
	if role == "" || account == "" {
		writeJSONError(w, 400, "InvalidRequestException", "role_name and account_id are required")
		return
	}
	id := s.issue("arn:aws:sts::"+account+":assumed-role/AWSReservedSSO_"+role+"/"+t.user, t.user, false, time.Hour)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     id.AccessKeyID,
		"secretAccessKey": id.SecretAccessKey,
		"sessionToken":    id.SessionToken,
		"expiration":      id.Expires.UnixMilli(),
	}})
}

// serveOIDC answers SSO OIDC's CreateToken for the refresh_token grant
// (POST /token), which the SDK uses to renew an expired SSO access token.
func (s *Server) serveOIDC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		GrantType    string `json:"grantType"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSONError(w, 400, "InvalidRequestException", err.Error())
		return
	}
	s.sso.mu.Lock()
	user, ok := s.sso.refreshTokens[req.RefreshToken]
	s.sso.mu.Unlock()
	s.record("CreateToken", user)
	if req.GrantType != "refresh_token" || !ok {
		writeJSONError(w, 400, "InvalidGrantException", "Invalid refresh token provided")
		return
	}
	access, refresh := "access-"+randomString(12), "refresh-"+randomString(12)
	s.sso.mu.Lock()
	delete(s.sso.refreshTokens, req.RefreshToken)
	s.sso.refreshTokens[refresh] = user
	s.sso.accessTokens[access] = ssoToken{s.clock().Add(8 * time.Hour), user}
	s.sso.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"accessToken": access, "expiresIn": 8 * 3600, "refreshToken": refresh, "tokenType": "Bearer",
	})
}
