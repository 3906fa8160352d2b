package awsprofile

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	awssso "github.com/aws/aws-sdk-go-v2/service/sso"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// IAM Identity Center (SSO) profiles. The SDK's ssocreds provider gets the
// role credentials from the portal, reading the token file itself, as it
// does for every other program; before it does, package sso makes sure
// that file holds a token that works (read under its rules, refreshed under
// its lock, shared with the AWS CLI), so the SDK's own refresh never runs
// (it would write the file without that lock). Failures come back as
// *sso.Error, whose reasons Classify maps and whose messages name the
// session and the fix.

// NewSSOClient returns the client of the IAM Identity Center token files
// (~/.aws/sso/cache, the AWS CLI's) that the daemon, `codecommitd login`
// and the chains of a Resolver share: its OIDC calls go where the daemon's
// environment says (AWS_ENDPOINT_URL_SSO_OIDC, proxies, AWS_CA_BUNDLE),
// with the bounds every AWS call has (AWS HTTP bounds, two attempts).
// transport, if not nil, carries them instead of the network (tests). No
// AWS config file is read: a session's region and start URL come from the
// profile that names it.
func NewSSOClient(ctx context.Context, log *slog.Logger, transport http.RoundTripper) (*sso.Client, error) {
	cfg, err := sdkBaseConfig(ctx, transport)
	if err != nil {
		return nil, err
	}
	return sso.New(sso.Config{AWS: cfg, Log: log})
}

// sdkBaseConfig is the SDK's config from the daemon's environment alone.
func sdkBaseConfig(ctx context.Context, transport http.RoundTripper) (aws.Config, error) {
	var client aws.HTTPClient = newHTTPClient()
	if transport != nil {
		client = &http.Client{Transport: transport, Timeout: AttemptTimeout}
	}
	return config.LoadDefaultConfig(ctx, config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		config.WithHTTPClient(client), config.WithRetryer(newRetryer), config.WithCredentialsProvider(aws.AnonymousCredentials{}))
}

// ssoClient is the Resolver's SSO client: SSO if set, else one made on
// first use.
func (r *Resolver) ssoClient(ctx context.Context) (*sso.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.SSO == nil {
		c, err := NewSSOClient(ctx, nil, r.Transport)
		if err != nil {
			return nil, err
		}
		r.SSO = c
	}
	return r.SSO, nil
}

// hasSSO reports whether c signs in with IAM Identity Center: an
// sso_session, or a legacy profile's sso_start_url (the SDK's test).
func hasSSO(c *config.SharedConfig) bool {
	return c.SSOSessionName != "" || c.SSOStartURL != "" || c.SSORegion != "" || c.SSOAccountID != "" || c.SSORoleName != ""
}

// ssoSessions lists the IAM Identity Center sessions of p's chain, from the
// top down, with the scopes sections holds for each sso-session.
func ssoSessions(p *Profile, s *sections) []sso.Session {
	var out []sso.Session
	for c := &p.Config; c != nil && p.Exists; c = c.Source {
		if !hasSSO(c) {
			continue
		}
		sess := sso.Session{Profile: c.Profile, StartURL: c.SSOStartURL, Region: c.SSORegion}
		if c.SSOSessionName != "" {
			sess.Name = c.SSOSessionName
			if c.SSOSession != nil {
				sess.StartURL, sess.Region = c.SSOSession.SSOStartURL, c.SSOSession.SSORegion
			}
			sess.Scopes, _ = s.ssoScopes(c.SSOSessionName)
		}
		out = append(out, sess)
	}
	return out
}

// session is the SSO session of c, one of p's chain.
func (p *Profile) session(c *config.SharedConfig) sso.Session {
	for _, s := range p.SSO {
		if s.Profile == c.Profile {
			return s
		}
	}
	return sso.Session{Profile: c.Profile, Name: c.SSOSessionName, StartURL: c.SSOStartURL, Region: c.SSORegion}
}

// checkSSO refuses an SSO profile whose settings are incomplete, naming
// what to add where, before any call is made.
func checkSSO(p *Profile, c *config.SharedConfig) error {
	s := p.session(c)
	var missing []string
	if s.StartURL == "" {
		missing = append(missing, "sso_start_url")
	}
	if s.Region == "" {
		missing = append(missing, "sso_region")
	}
	where := "[" + SectionName(c.Profile) + "]"
	if s.Name != "" {
		where = "[sso-session " + s.Name + "]"
	}
	if len(missing) > 0 {
		return broker.Errorf(broker.ErrInvalidRequest, p.Name, "profile %s signs in with IAM Identity Center, but %s in %s has no %s; add it there",
			c.Profile, where, strings.Join(p.Files.Config, " or "), strings.Join(missing, " or "))
	}
	if c.SSOAccountID == "" || c.SSORoleName == "" {
		return broker.Errorf(broker.ErrInvalidRequest, p.Name, "profile %s signs in with IAM Identity Center, but has no sso_account_id or sso_role_name: add both to [%s] in %s (`aws configure sso --profile %s` lists what you may use)",
			c.Profile, SectionName(c.Profile), strings.Join(p.Files.Config, " or "), c.Profile)
	}
	return nil
}

// ssoLink is the link of a chain that an IAM Identity Center session
// feeds: the SDK's ssocreds provider, given a token file package sso has
// made sure of.
type ssoLink struct {
	s             sso.Session
	account, role string
	tokens        *sso.Client
	sdk           *ssocreds.Provider
	// r tells how far AWS's clock is from this one (Resolver.ClockSkew).
	r *Resolver
}

func (b *builder) sso(ctx context.Context, c *config.SharedConfig) (aws.CredentialsProvider, error) {
	if err := checkSSO(b.p, c); err != nil {
		return nil, err
	}
	s := b.p.session(c)
	tokens, err := b.r.ssoClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := b.baseConfig(ctx, aws.AnonymousCredentials{})
	if err != nil {
		return nil, err
	}
	portal := awssso.NewFromConfig(cfg, func(o *awssso.Options) { o.Region = s.Region })
	return &ssoLink{s: s, account: c.SSOAccountID, role: c.SSORoleName, tokens: tokens,
		sdk: ssocreds.New(portal, c.SSOAccountID, c.SSORoleName, s.StartURL, func(o *ssocreds.Options) {
			o.CachedTokenFilepath = tokens.TokenPath(s)
		}), r: b.r}, nil
}

// Retrieve makes sure the token file holds a token that works (package
// sso), then lets the SDK exchange it at the portal for the role's
// credentials.
func (l *ssoLink) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if _, err := l.tokens.Fresh(ctx, l.s); err != nil {
		return aws.Credentials{}, err
	}
	c, err := l.sdk.Retrieve(ctx)
	if err == nil {
		return c, nil
	}
	var invalid *ssocreds.InvalidTokenError
	if errors.As(err, &invalid) {
		// The file changed between the two reads (a sign-out, a rewrite):
		// say what it holds now.
		if _, ferr := l.tokens.Fresh(ctx, l.s); ferr != nil {
			return aws.Credentials{}, ferr
		}
		return aws.Credentials{}, &sso.Error{Reason: sso.ReasonUnreadable, Session: l.s, Path: l.tokens.TokenPath(l.s),
			Detail: "the AWS SDK's reader refused it", Err: err}
	}
	skew, _ := l.r.ClockSkew()
	return aws.Credentials{}, sso.ClassifyGetRoleCredentials(l.s, l.account, l.role, skew, err)
}

// classifySSO maps a failure of an SSO link to a broker error: what only a
// sign-in mends is ErrSSOExpired, an account or role not assigned
// ErrAccessDenied, a clock off ErrClockSkew, the rest a failure of the
// source (temporary where it may pass). The message is the *sso.Error's,
// with the network's cause named where it is known. The *sso.Error stays
// in the chain (the broker signs in from it).
func classifySSO(p *Profile, e *sso.Error, cause error) error {
	kind := broker.ErrSourceFailed
	switch e.Reason {
	case sso.ReasonNoToken, sso.ReasonUnreadable, sso.ReasonExpired, sso.ReasonRevoked, sso.ReasonRegistrationExpired, sso.ReasonMismatch:
		kind = broker.ErrSSOExpired
	case sso.ReasonNotAssigned:
		kind = broker.ErrAccessDenied
	case sso.ReasonClockSkew:
		kind = broker.ErrClockSkew
	case sso.ReasonTemporary:
		if c, ok := networkCause(e.Err); ok {
			more := *e
			more.Detail = c.what
			e = &more
		}
		cause = errors.Join(broker.ErrTemporary, cause)
	}
	return &broker.Error{Kind: kind, Profile: p.Name, Msg: e.Error(), Err: cause}
}

// SSOSession returns the IAM Identity Center session `codecommitd login`
// and `logout` sign in or out: the sso-session named (the [sso-session
// NAME] section of the caller's config file), else that of the profile
// named, else of AWS_PROFILE or "default", as `aws sso login` decides.
func (r *Resolver) SSOSession(ctx context.Context, profile, session string, env map[string]string) (sso.Session, error) {
	if session == "" {
		p, err := r.Resolve(ctx, profile, env)
		if err != nil {
			return sso.Session{}, err
		}
		if !p.Exists {
			return sso.Session{}, p.notFound()
		}
		if len(p.SSO) == 0 {
			return sso.Session{}, broker.Errorf(broker.ErrInvalidRequest, p.Name,
				"profile %s does not sign in with IAM Identity Center (it has no sso_session or sso_start_url, nor has its source_profile); name the session with --sso-session, or another profile", p.Name)
		}
		s := p.SSO[0]
		if s.StartURL == "" || s.Region == "" {
			return sso.Session{}, checkSSO(p, &config.SharedConfig{Profile: s.Profile, SSOSessionName: s.Name, SSOAccountID: "-", SSORoleName: "-"})
		}
		return s, nil
	}
	files := filesFor(env)
	secs, err := readSections(files)
	if err != nil {
		return sso.Session{}, parseError("", files.Config, err)
	}
	sec, ok := secs.ssoSession(session)
	if !ok {
		names := secs.ssoSessionNames()
		have := "none is defined"
		if len(names) > 0 {
			have = "those defined: " + strings.Join(names, ", ")
		}
		return sso.Session{}, broker.Errorf(broker.ErrProfileNotFound, "", "no [sso-session %s] in %s (%s); add it, e.g. with `aws configure sso-session`", session, strings.Join(files.Config, " or "), have)
	}
	s := sso.Session{Name: session, StartURL: sec["sso_start_url"], Region: sec["sso_region"]}
	s.Scopes, _ = secs.ssoScopes(session)
	var missing []string
	for _, k := range []string{"sso_start_url", "sso_region"} {
		if sec[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return sso.Session{}, broker.Errorf(broker.ErrInvalidRequest, "", "[sso-session %s] in %s has no %s; add it there", session, strings.Join(files.Config, " or "), strings.Join(missing, " or "))
	}
	return s, nil
}

// SessionProfiles returns the profiles of the caller's AWS config whose
// chain signs in with session s (its token file), so that what
// credentials codecommitd got from it can be forgotten at sign-out, as
// `aws sso logout` sweeps the CLI's cache of them. Profiles that do not
// resolve are left out.
func (r *Resolver) SessionProfiles(ctx context.Context, s sso.Session, env map[string]string) []string {
	secs, err := readSections(filesFor(env))
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range secs.names() {
		p, err := r.Resolve(ctx, name, env)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(p.SSO, func(x sso.Session) bool { return x.CacheKey() == s.CacheKey() }) {
			out = append(out, name)
		}
	}
	return out
}

// ssoSession returns the keys of the [sso-session name] section of the
// config files (the last file that has one wins, as in the SDK).
func (s *sections) ssoSession(name string) (map[string]string, bool) {
	for i := len(s.config) - 1; i >= 0; i-- {
		sec, err := s.config[i].GetSection("sso-session " + name)
		if err != nil {
			continue
		}
		keys := map[string]string{}
		for _, k := range sec.Keys() {
			keys[k.Name()] = strings.TrimSpace(k.String())
		}
		return keys, true
	}
	return nil, false
}

// ssoSessionNames lists the sso-session sections of the config files.
func (s *sections) ssoSessionNames() []string {
	var out []string
	for _, f := range s.config {
		for _, sec := range f.SectionStrings() {
			if n, ok := strings.CutPrefix(sec, "sso-session "); ok && !slices.Contains(out, strings.TrimSpace(n)) {
				out = append(out, strings.TrimSpace(n))
			}
		}
	}
	slices.Sort(out)
	return out
}

// ssoScopes returns the sso_registration_scopes of sso-session name, split
// at commas as the AWS CLI splits them, and whether the key is there (the
// CLI's registration cache key tells an absent key from an empty list).
func (s *sections) ssoScopes(name string) ([]string, bool) {
	keys, ok := s.ssoSession(name)
	if !ok {
		return nil, false
	}
	v, ok := keys["sso_registration_scopes"]
	if !ok {
		return nil, false
	}
	scopes := []string{}
	for _, sc := range strings.Split(v, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			scopes = append(scopes, sc)
		}
	}
	return scopes, true
}
