package sso

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

// The OAuth grants and the scope the AWS CLI uses.
const (
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken      = "refresh_token"
	defaultScope           = "sso:account:access"
	// redirectNoPort is the redirect URI the AWS CLI registers; the
	// authorize request names the listener's port (RFC 8252 7.3).
	redirectNoPort = "http://127.0.0.1/oauth/callback"
)

// registrationMargin: a registration that ends sooner than this is made
// anew before a sign-in, as the AWS CLI does (_EXPIRY_WINDOW), so the
// session it starts does not end with it at once.
const registrationMargin = 15 * time.Minute

// registration is a client registration as the AWS CLI caches it, in
// ~/.aws/sso/cache/<registrationKey>.json: {"clientId", "clientSecret",
// "expiresAt", "scopes", "grantTypes"} (botocore SSOTokenFetcherAuth
// _register_client). A registration for the authorization code grant
// names it in grantTypes; one for the device code grant names none.
type registration struct {
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret"`
	ExpiresAt    time.Time `json:"-"`
	Scopes       []string  `json:"scopes,omitempty"`
	GrantTypes   []string  `json:"grantTypes,omitempty"`
}

type registrationFile struct {
	registration
	ExpiresAt string `json:"expiresAt"`
}

func parseRegistration(b []byte) (registration, bool) {
	var f registrationFile
	if err := json.Unmarshal(b, &f); err != nil || f.ClientID == "" || f.ClientSecret == "" {
		return registration{}, false
	}
	at, err := parseTime(f.ExpiresAt)
	if err != nil {
		return registration{}, false
	}
	f.registration.ExpiresAt = at
	return f.registration, true
}

func (r registration) encode() []byte {
	var o cliJSON
	o.put("clientId", r.ClientID)
	o.put("clientSecret", r.ClientSecret)
	o.put("expiresAt", formatTime(r.ExpiresAt))
	if r.Scopes != nil {
		o.put("scopes", r.Scopes)
	}
	if r.GrantTypes != nil {
		o.put("grantTypes", r.GrantTypes)
	}
	return o.bytes()
}

// usable reports whether the cached registration r serves a sign-in by
// the flow (the authorization code grant when pkce) at now: it lasts
// beyond the margin and is for that flow, as the AWS CLI decides
// (_is_registration_for_auth_code).
func (r registration) usable(pkce bool, now time.Time) bool {
	return r.ExpiresAt.Sub(now) >= registrationMargin && slices.Contains(r.GrantTypes, grantAuthorizationCode) == pkce
}

// registration returns the client registration for signing s in by the
// flow: the cached one while it is usable (shared with the AWS CLI under
// the CLI's key), else a new one, which is cached. fresh skips the cache
// (the service refused the cached one).
func (c *Client) registration(ctx context.Context, s Session, pkce, fresh bool) (registration, error) {
	path := filepath.Join(c.st.dir, s.registrationKey()+".json")
	if !fresh {
		// A cached registration that cannot be read or used is made anew
		// (and written over, if the folder allows it).
		if b, found, err := c.st.readFile(path); err == nil && found {
			if r, ok := parseRegistration(b); ok && r.usable(pkce, time.Now()) {
				return r, nil
			}
		}
	}
	in := c.registerInput(s, pkce)
	out, err := c.oidc(s.Region).RegisterClient(ctx, in)
	if err != nil {
		return registration{}, oidcError(s, "", ctx, err)
	}
	r := registration{
		ClientID: aws.ToString(out.ClientId), ClientSecret: aws.ToString(out.ClientSecret),
		ExpiresAt: time.Unix(out.ClientSecretExpiresAt, 0).UTC(), Scopes: in.Scopes, GrantTypes: in.GrantTypes,
	}
	if r.ClientID == "" || r.ClientSecret == "" {
		return registration{}, &Error{Reason: ReasonRefused, Session: s, Code: "RegisterClient", Detail: "the registration has no client id or secret", Err: errors.New("empty registration")}
	}
	if err := c.st.write(path, r.encode()); err != nil {
		return registration{}, fileError(s, path, err)
	}
	c.log.InfoContext(ctx, "registered an SSO client", "session", s.String(), "expires", r.ExpiresAt)
	return r, nil
}

// registerInput is the registration the AWS CLI makes for s by the flow:
// for the authorization code grant, a public client for it and refresh
// tokens with the loopback redirect URI, the start URL as issuer and the
// configured scopes (else sso:account:access); for the device code grant,
// a public client with the scopes. Unlike the CLI, a device code sign-in
// of an sso-session without sso_registration_scopes asks for
// sso:account:access too, the scope that brings refresh tokens: the
// session then lives as long as a browser sign-in's. A legacy profile's
// has no scopes: its token lasts the session and cannot be refreshed.
func (c *Client) registerInput(s Session, pkce bool) *ssooidc.RegisterClientInput {
	name := c.cfg.ClientName + "-" + s.Name
	if s.Legacy() {
		name = c.cfg.ClientName + "-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	in := &ssooidc.RegisterClientInput{ClientName: aws.String(name), ClientType: aws.String("public")}
	if s.Legacy() {
		return in
	}
	in.Scopes = s.Scopes
	if len(in.Scopes) == 0 {
		in.Scopes = []string{defaultScope}
	}
	if pkce {
		in.GrantTypes = []string{grantAuthorizationCode, grantRefreshToken}
		in.RedirectUris = []string{redirectNoPort}
		in.IssuerUrl = aws.String(s.StartURL)
	}
	return in
}
