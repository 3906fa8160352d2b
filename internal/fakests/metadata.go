package fakests

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// InstanceRole is the role name the fake instance metadata service reports.
const InstanceRole = "InstanceRole"

// Issue makes temporary credentials for principal arn outside of STS (as
// instance metadata, a container agent or `aws login` would), known to the
// git server like any others.
func (s *Server) Issue(arn string, lifetime time.Duration) Identity {
	return *s.issue(arn, "", false, lifetime)
}

// serveMetadata answers EC2 instance metadata (IMDSv2) under /latest/ and
// ECS container credentials at /container-credentials.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	const creds = "/latest/meta-data/iam/security-credentials/"
	switch {
	case r.URL.Path == "/latest/api/token" && r.Method == http.MethodPut:
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		w.Write([]byte("imds-session-token"))
	case strings.HasPrefix(r.URL.Path, "/latest/") && r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-session-token":
		http.Error(w, "missing IMDSv2 token", http.StatusUnauthorized)
	case r.URL.Path == creds:
		w.Write([]byte(InstanceRole))
	case r.URL.Path == creds+InstanceRole:
		s.record("InstanceMetadata", "")
		id := s.issue("arn:aws:sts::"+Account+":assumed-role/"+InstanceRole+"/i-0123456789", "i-0123456789", false, 6*time.Hour)
		json.NewEncoder(w).Encode(map[string]string{
			"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": id.AccessKeyID, "SecretAccessKey": id.SecretAccessKey,
			"Token": id.SessionToken, "Expiration": id.Expires.Format(time.RFC3339), "LastUpdated": s.clock().UTC().Format(time.RFC3339),
		})
	case r.URL.Path == "/container-credentials":
		s.record("ContainerCredentials", "")
		if r.Header.Get("Authorization") != "container-auth-token" {
			http.Error(w, `{"message":"bad authorization token"}`, http.StatusForbidden)
			return
		}
		id := s.issue("arn:aws:sts::"+Account+":assumed-role/TaskRole/task", "task", false, 6*time.Hour)
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": id.AccessKeyID, "SecretAccessKey": id.SecretAccessKey, "Token": id.SessionToken,
			"Expiration": id.Expires.Format(time.RFC3339), "RoleArn": "arn:aws:iam::" + Account + ":role/TaskRole",
		})
	default:
		http.NotFound(w, r)
	}
}

// serveSignin answers the sign-in service's CreateOAuth2Token, which the SDK
// calls to refresh an expired `aws login` session; the fake refuses every
// refresh, as an expired session unless SetSignInRefusal says otherwise.
func (s *Server) serveSignin(w http.ResponseWriter, r *http.Request) {
	s.record("CreateOAuth2Token", "")
	s.mu.Lock()
	code := s.signinRefusal
	s.mu.Unlock()
	if code == "" {
		code = "TOKEN_EXPIRED"
	}
	w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": "Your session has expired. Please reauthenticate."})
}

// SetSignInRefusal sets the error code (TOKEN_EXPIRED,
// USER_CREDENTIALS_CHANGED, INSUFFICIENT_PERMISSIONS, …) with which the
// sign-in service refuses to renew an `aws login` session; "" means
// TOKEN_EXPIRED.
func (s *Server) SetSignInRefusal(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signinRefusal = code
}
