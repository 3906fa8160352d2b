package fakests

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake STS. Create it with New; it is safe for concurrent use.
type Server struct {
	// URL is the base URL to put in AWS_ENDPOINT_URL_STS.
	URL string

	http *httptest.Server
	iam  *iam

	mu       sync.Mutex
	now      func() time.Time
	latency  time.Duration
	outage   *Fault
	lifetime time.Duration
	onCall   func(action string)
	// dateSlack is how far a request's signing date may be from the
	// server's clock; zero means AWS's five minutes.
	dateSlack time.Duration
	calls     map[string]int
	callers   map[string][]string // action → caller ARNs, in order
	faults    map[string][]Fault
	sso       *ssoState
	// signinRefusal is the error code of the sign-in service's refusal.
	signinRefusal string
}

// Fault is an error the next call of an action answers with.
type Fault struct {
	Status  int    // HTTP status, e.g. 403 or 500
	Code    string // e.g. "AccessDenied", "Throttling"
	Message string
}

// New starts a fake STS on a loopback port; it stops with the test.
func New() *Server {
	s := newServer()
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL
	return s
}

// InMemoryURL is the base URL of a fake made by NewInMemory: a name that
// never resolves, so a client not given its Transport fails at once.
const InMemoryURL = "http://fakests.invalid"

// NewInMemory returns a fake that listens nowhere: requests reach it only
// through its Transport, which serves them in the caller's goroutine. It is
// for tests in a testing/synctest bubble, whose clock advances only while
// every goroutine in it is blocked on the bubble's timers or channels (a
// listener's goroutines, waiting on the network, never are); there the
// fake's default clock, time.Now, is the bubble's.
func NewInMemory() *Server {
	s := newServer()
	s.URL = InMemoryURL
	return s
}

func newServer() *Server {
	return &Server{
		iam:     newIAM(),
		now:     time.Now,
		calls:   map[string]int{},
		callers: map[string][]string{},
		faults:  map[string][]Fault{},
		sso:     newSSOState(),
	}
}

// Close stops the server (nothing, for one made by NewInMemory).
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
	}
}

// Transport returns a RoundTripper that answers each request with the
// fake's handler, in the calling goroutine, without a connection: the
// request as a server would see it (its Host, a RequestURI, a loopback
// RemoteAddr), the response as a client reads it.
func (s *Server) Transport() http.RoundTripper { return inMemory{s} }

type inMemory struct{ s *Server }

func (m inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	in.RequestURI, in.RemoteAddr = req.URL.RequestURI(), "127.0.0.1:1"
	rec := httptest.NewRecorder()
	m.s.ServeHTTP(rec, in)
	in.Body.Close()
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// SetClock replaces the clock that issued credentials' expiry is based on.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetLatency makes every credential-issuing call take at least d, so that
// concurrent callers overlap the way they do against the real service.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// OnCall calls fn with the action of every STS call as it arrives, before
// it is answered (and before any latency set with SetLatency).
func (s *Server) OnCall(fn func(action string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = fn
}

// SetOutage makes every STS call answer f until it is called with nil:
// an outage, as opposed to FailNext's single failures.
func (s *Server) SetOutage(f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = f
}

// SetLifetime makes every credential issued from now on last d, whatever
// the request asked (zero: what it asked), for tests of credentials that
// run out.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetDateSlack sets how far a request's signing date may be from the
// server's clock (default five minutes, as AWS), for tests that move the
// server's clock while clients sign with the real one.
func (s *Server) SetDateSlack(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dateSlack = d
}

// FailNext makes the next call of action fail with f (queued, in order).
func (s *Server) FailNext(action string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], f)
}

// Calls returns how many requests of action were answered (successfully or
// not, after signature checks).
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Callers returns the principal ARN of each caller of action, in order
// (for the SSO portal the user, for SSO OIDC the client id).
func (s *Server) Callers(action string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.callers[action]...)
}

func (s *Server) slack() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dateSlack == 0 {
		return 5 * time.Minute
	}
	return s.dateSlack
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) record(action, caller string) (Fault, bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	s.callers[action] = append(s.callers[action], caller)
	if s.outage != nil {
		return *s.outage, true, s.latency
	}
	if q := s.faults[action]; len(q) > 0 {
		s.faults[action] = q[1:]
		return q[0], true, s.latency
	}
	return Fault{}, false, s.latency
}

// ServeHTTP answers STS query-protocol requests; the SSO portal and SSO
// OIDC APIs and pages (see ssoHandler); under /latest/ instance metadata;
// /container-credentials for containers; and the sign-in service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.clock().UTC().Format(http.TimeFormat))
	if h := s.ssoHandler(r.URL.Path); h != nil {
		h(w, r)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/latest/"), r.URL.Path == "/container-credentials":
		s.serveMetadata(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/v1/token"), strings.Contains(r.URL.Path, "OAuth2"), r.Header.Get("Dpop") != "":
		s.serveSignin(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "Sender", "InvalidRequest", err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, 400, "Sender", "MalformedQueryString", err.Error())
		return
	}
	action := form.Get("Action")
	var caller Identity
	if action != "AssumeRoleWithWebIdentity" {
		caller, err = verifySigV4(r, body, s.lookupValid)
		if err != nil {
			code := "SignatureDoesNotMatch"
			if strings.Contains(err.Error(), "security token") {
				code = "InvalidClientTokenId"
			}
			writeError(w, 403, "Sender", code, err.Error())
			return
		}
		// Like AWS, refuse signatures more than five minutes off.
		if signed, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date")); err == nil {
			slack := s.slack()
			if now := s.clock(); signed.Before(now.Add(-slack)) || signed.After(now.Add(slack)) {
				writeError(w, 403, "Sender", "SignatureDoesNotMatch", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
					r.Header.Get("X-Amz-Date"), now.Add(-5*time.Minute).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z")))
				return
			}
		}
	}
	fault, failing, latency := s.record(action, caller.ARN)
	s.mu.Lock()
	onCall := s.onCall
	s.mu.Unlock()
	if onCall != nil {
		onCall(action)
	}
	if latency > 0 {
		time.Sleep(latency)
	}
	if failing {
		writeError(w, fault.Status, "Sender", fault.Code, fault.Message)
		return
	}
	switch action {
	case "AssumeRole":
		s.assumeRole(w, form, caller)
	case "AssumeRoleWithWebIdentity":
		s.assumeRoleWithWebIdentity(w, form)
	case "GetSessionToken":
		s.getSessionToken(w, form, caller)
	case "GetCallerIdentity":
		writeXML(w, "GetCallerIdentity", struct {
			Arn     string
			UserId  string
			Account string
		}{caller.ARN, caller.AccessKeyID, Account})
	default:
		writeError(w, 400, "Sender", "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15", action))
	}
}

func (s *Server) lookupValid(akid string) (Identity, bool) {
	id, ok := s.Lookup(akid)
	if !ok || (!id.Expires.IsZero() && !s.clock().Before(id.Expires)) {
		return Identity{}, false
	}
	return id, true
}

func duration(form url.Values, def, max time.Duration) (time.Duration, error) {
	v := form.Get("DurationSeconds")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 900 || time.Duration(n)*time.Second > max {
		return 0, fmt.Errorf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and %d", v, int(max.Seconds()))
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Server) assumeRole(w http.ResponseWriter, form url.Values, caller Identity) {
	roleARN, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	s.iam.mu.Lock()
	role, ok := s.iam.roles[roleARN]
	var mfaOK bool
	if ok && role.RequireMFA {
		serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
		mfaOK = caller.MFA || (serial != "" && code != "" && s.iam.mfaCodes[serial] == code)
	}
	s.iam.mu.Unlock()
	denied := fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, roleARN)
	switch {
	case !ok:
		writeError(w, 403, "Sender", "AccessDenied", denied)
		return
	case role.RequireMFA && !mfaOK:
		writeError(w, 403, "Sender", "AccessDenied", denied+" (MultiFactorAuthentication required)")
		return
	case session == "":
		writeError(w, 400, "Sender", "ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
		return
	}
	for _, p := range role.DenyFrom {
		if p == caller.ARN {
			writeError(w, 403, "Sender", "AccessDenied", denied)
			return
		}
	}
	max := role.MaxDuration
	if max == 0 {
		max = 12 * time.Hour
	}
	if caller.SessionToken != "" && !caller.MFA && strings.Contains(caller.ARN, ":assumed-role/") && max > time.Hour {
		max = time.Hour // role chaining is limited to one hour
	}
	d, err := duration(form, time.Hour, max)
	if err != nil {
		writeError(w, 400, "Sender", "ValidationError", err.Error())
		return
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	id := s.issue("arn:aws:sts::"+Account+":assumed-role/"+name+"/"+session, session, caller.MFA, d)
	writeXML(w, "AssumeRole", credentialsResult{Credentials: xmlCreds(id), AssumedRoleUser: &assumedRoleUser{Arn: id.ARN, AssumedRoleId: "AROAFAKE:" + session}})
}

func (s *Server) assumeRoleWithWebIdentity(w http.ResponseWriter, form url.Values) {
	roleARN, session, token := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("WebIdentityToken")
	s.iam.mu.Lock()
	_, roleOK := s.iam.roles[roleARN]
	subject, tokenOK := s.iam.webTokens[token]
	s.iam.mu.Unlock()
	switch {
	case !tokenOK:
		writeError(w, 400, "Sender", "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
		return
	case !roleOK:
		writeError(w, 403, "Sender", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		return
	}
	d, err := duration(form, time.Hour, 12*time.Hour)
	if err != nil {
		writeError(w, 400, "Sender", "ValidationError", err.Error())
		return
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	id := s.issue("arn:aws:sts::"+Account+":assumed-role/"+name+"/"+session, session, false, d)
	writeXML(w, "AssumeRoleWithWebIdentity", credentialsResult{
		Credentials:                 xmlCreds(id),
		AssumedRoleUser:             &assumedRoleUser{Arn: id.ARN, AssumedRoleId: "AROAFAKE:" + session},
		SubjectFromWebIdentityToken: subject,
	})
}

func (s *Server) getSessionToken(w http.ResponseWriter, form url.Values, caller Identity) {
	if caller.SessionToken != "" {
		writeError(w, 403, "Sender", "AccessDenied", "Cannot call GetSessionToken with session credentials")
		return
	}
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	mfa := false
	if serial != "" || code != "" {
		s.iam.mu.Lock()
		want, ok := s.iam.mfaCodes[serial]
		s.iam.mu.Unlock()
		if !ok || code == "" || code != want {
			writeError(w, 403, "Sender", "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
			return
		}
		mfa = true
	}
	d, err := duration(form, 12*time.Hour, 36*time.Hour)
	if err != nil {
		writeError(w, 400, "Sender", "ValidationError", err.Error())
		return
	}
	id := s.issue(caller.ARN, "", mfa, d)
	writeXML(w, "GetSessionToken", credentialsResult{Credentials: xmlCreds(id)})
}

type xmlCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type assumedRoleUser struct {
	Arn           string
	AssumedRoleId string
}

type credentialsResult struct {
	Credentials                 xmlCredentials
	AssumedRoleUser             *assumedRoleUser `xml:",omitempty"`
	SubjectFromWebIdentityToken string           `xml:",omitempty"`
}

func xmlCreds(id *Identity) xmlCredentials {
	return xmlCredentials{id.AccessKeyID, id.SecretAccessKey, id.SessionToken, id.Expires.UTC().Format(time.RFC3339)}
}

func writeXML(w http.ResponseWriter, action string, result any) {
	type metadata struct {
		RequestId string
	}
	resp := struct {
		XMLName          xml.Name
		Xmlns            string `xml:"xmlns,attr"`
		Result           any
		ResponseMetadata metadata
	}{xml.Name{Local: action + "Response"}, "https://sts.amazonaws.com/doc/2011-06-15/", result, metadata{randomString(8)}}
	out, err := xml.Marshal(resp)
	if err != nil {
		writeError(w, 500, "Receiver", "InternalFailure", err.Error())
		return
	}
	// The result element is named after the action.
	body := strings.Replace(strings.Replace(string(out), "<Result>", "<"+action+"Result>", 1), "</Result>", "</"+action+"Result>", 1)
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, xml.Header+body)
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	type errBody struct {
		Type, Code, Message string
	}
	out, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errBody
		RequestId string
	}{Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/", Error: errBody{typ, code, msg}, RequestId: randomString(8)})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(out)
}
