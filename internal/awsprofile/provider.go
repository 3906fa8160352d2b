package awsprofile

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// DefaultRoleDuration is how long assumed roles last when the profile sets
// no duration_seconds (the SDK's own default is 15 minutes).
const DefaultRoleDuration = time.Hour

// DefaultSessionName returns "codecommitd-<local user>", trimmed to what STS
// accepts, so CodeCommit's logs show who pushed.
func DefaultSessionName() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	if i := strings.LastIndexAny(name, `\`); i >= 0 { // DOMAIN\user on Windows
		name = name[i+1:]
	}
	s := "codecommitd-" + strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', strings.ContainsRune("+=,.@_-", r):
			return r
		}
		return '-'
	}, name)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Chain is the credential provider of one resolved profile in one region,
// built once (Resolver.Chain) and asked again at every refresh. Every
// Retrieve asks the source afresh: a credential_process runs, a web identity
// token file is read, a role is assumed; none hands back what the last one
// got. (Where the SDK builds a role's source itself, from SSO, aws login,
// instance or container metadata, it keeps that source's credentials until
// they expire, as it always does.)
type Chain struct {
	provider aws.CredentialsProvider
	// MFA lists the MFA sessions the chain relies on, from its source
	// outwards: a Retrieve fails, saying a code is needed, unless each of
	// them holds credentials.
	MFA []*MFASession
}

// Retrieve gets fresh credentials from the chain.
func (c *Chain) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return c.provider.Retrieve(ctx)
}

// MFASession is an MFA session a chain needs: the credentials
// GetSessionToken gives for the device Serial, asked of STS with the
// credentials of Source.
type MFASession struct {
	// Key identifies the session by its source's configuration and the
	// device, so profiles that share both share the session; it never
	// equals a profile's Key.
	Key    string
	Serial string
	// Ext holds the extension keys of the profile that names the device
	// (mfa_process, mfa_session_duration).
	Ext    Extensions
	Source aws.CredentialsProvider
	STS    *sts.Client
}

// MFACredentials gives the link of a chain built on the MFA session s its
// credentials: those the session holds, or an error saying a code is
// needed. It never prompts.
type MFACredentials func(ctx context.Context, s *MFASession) (aws.Credentials, error)

// mfaLink is the link of a chain that an MFA session's credentials feed.
type mfaLink struct {
	s     *MFASession
	creds MFACredentials
}

func (l mfaLink) Retrieve(ctx context.Context) (aws.Credentials, error) { return l.creds(ctx, l.s) }

// uncached makes every Retrieve of a provider the SDK built ask its source:
// the SDK wraps what it builds in an aws.CredentialsCache, which would hand
// back the last credentials until they expire, while the credential manager
// refreshes ahead of expiry.
type uncached struct{ cache *aws.CredentialsCache }

func (u uncached) Retrieve(ctx context.Context) (aws.Credentials, error) {
	u.cache.Invalidate()
	return u.cache.Retrieve(ctx)
}

// Describe names p's credential source for people (status output).
func Describe(p *Profile) string {
	switch {
	case p.usesEnvCredentials() && p.EnvCredentials().HasKeys():
		return "environment variables"
	case p.usesEnvCredentials():
		return "web identity " + p.env["AWS_ROLE_ARN"] + " (environment)"
	case !p.Exists:
		return "default chain (container or instance metadata)"
	}
	return describe(&p.Config)
}

// Chain builds the credential provider chain of p, calling STS in region.
// Each profile of the chain with an mfa_serial adds an MFA session to
// Chain.MFA, and a link that mfa gives the session's credentials; a nil
// mfa leaves those links out (the source is used as it is).
func (r *Resolver) Chain(ctx context.Context, p *Profile, region string, mfa MFACredentials) (*Chain, error) {
	b := builder{r: r, p: p, region: region, mfa: mfa}
	prov, err := b.chain(ctx)
	if err != nil {
		return nil, err
	}
	return &Chain{provider: prov, MFA: b.sessions}, nil
}

// chain returns the provider of b.p, the top of its chain.
func (b *builder) chain(ctx context.Context) (aws.CredentialsProvider, error) {
	r, p := b.r, b.p
	switch {
	case p.usesEnvCredentials() && p.EnvCredentials().HasKeys():
		return credentials.StaticCredentialsProvider{Value: p.EnvCredentials()}, nil
	case p.usesEnvCredentials():
		base, err := b.baseConfig(ctx, aws.AnonymousCredentials{})
		if err != nil {
			return nil, err
		}
		session := p.env["AWS_ROLE_SESSION_NAME"]
		if session == "" {
			session = r.SessionName
		}
		return stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(base), p.env["AWS_ROLE_ARN"],
			stscreds.IdentityTokenFile(p.env["AWS_WEB_IDENTITY_TOKEN_FILE"]), func(o *stscreds.WebIdentityRoleOptions) {
				o.RoleSessionName = session
			}), nil
	case !p.Exists:
		// No such profile: what the SDK finds without one (container or
		// instance credentials). Naming it keeps the daemon's own
		// AWS_PROFILE and environment keys out of the answer.
		return b.sdk(ctx, p.Name)
	}
	return b.build(ctx, &p.Config)
}

type builder struct {
	r      *Resolver
	p      *Profile
	region string
	mfa    MFACredentials
	// sessions collects the MFA sessions of the chain as it is built.
	sessions []*MFASession
}

// needsOwn reports whether the chain from c down has a link the SDK does
// not handle the way we want.
func needsOwn(c *config.SharedConfig) bool {
	for ; c != nil; c = c.Source {
		if c.MFASerial != "" || c.CredentialSource == "Environment" || c.CredentialProcess != "" || hasSSO(c) || c.LoginSession != "" {
			return true
		}
	}
	return false
}

// build returns the provider for c, following the SDK's order: a source
// profile, static keys, a credential_source, then the profile's own kind of
// credentials; then the role, if c has one.
func (b *builder) build(ctx context.Context, c *config.SharedConfig) (aws.CredentialsProvider, error) {
	if !needsOwn(c) {
		return b.sdk(ctx, c.Profile)
	}
	var src aws.CredentialsProvider
	var err error
	switch {
	case c.Source != nil:
		src, err = b.build(ctx, c.Source)
	case c.Credentials.HasKeys():
		src = credentials.StaticCredentialsProvider{Value: c.Credentials}
	case c.CredentialSource == "Environment":
		env := b.p.EnvCredentials()
		if !env.HasKeys() {
			return nil, fmt.Errorf("profile %s has credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set in git's environment", c.Profile)
		}
		src = credentials.StaticCredentialsProvider{Value: env}
	case c.WebIdentityTokenFile == "" && c.CredentialSource == "" && hasSSO(c):
		src, err = b.sso(ctx, c)
	case c.WebIdentityTokenFile == "" && c.CredentialSource == "" && c.LoginSession != "":
		src, err = b.login(ctx, c)
	case c.CredentialProcess != "":
		src = b.process(c)
	default:
		// Only mfa_serial made this profile ours, and its credentials are
		// of a kind the SDK resolves (web identity, metadata): let it.
		return b.sdk(ctx, c.Profile)
	}
	if err != nil {
		return nil, err
	}
	if c.MFASerial != "" && b.mfa != nil {
		stsClient, err := b.stsClient(ctx, src)
		if err != nil {
			return nil, err
		}
		s := &MFASession{Key: "mfa:" + fingerprintOf(c.Source, c) + ":" + c.MFASerial, Serial: c.MFASerial,
			Ext: b.p.Ext[c.Profile], Source: src, STS: stsClient}
		b.sessions = append(b.sessions, s)
		src = mfaLink{s: s, creds: b.mfa}
	}
	if c.RoleARN == "" {
		return src, nil
	}
	stsClient, err := b.stsClient(ctx, src)
	if err != nil {
		return nil, err
	}
	return stscreds.NewAssumeRoleProvider(stsClient, c.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = c.RoleSessionName
		if c.RoleDurationSeconds != nil {
			o.Duration = *c.RoleDurationSeconds
		}
		if c.ExternalID != "" {
			o.ExternalID = aws.String(c.ExternalID)
		}
		b.roleDefaults(o)
	}), nil
}

// fingerprintOf identifies the source of an MFA session: the source chain
// when there is one, else the profile's own static keys or process.
func fingerprintOf(src, self *config.SharedConfig) string {
	if src != nil {
		return fingerprint(&Profile{Name: src.Profile, Exists: true, Config: *src})
	}
	c := *self
	c.RoleARN, c.RoleSessionName, c.RoleDurationSeconds, c.ExternalID, c.Region = "", "", nil, "", ""
	return fingerprint(&Profile{Name: self.Profile, Exists: true, Config: c})
}

func (b *builder) roleDefaults(o *stscreds.AssumeRoleOptions) {
	if o.RoleSessionName == "" {
		o.RoleSessionName = b.r.SessionName
	}
	if o.Duration == 0 {
		o.Duration = DefaultRoleDuration
		for c := &b.p.Config; c != nil; c = c.Source {
			if c.RoleARN == o.RoleARN && c.RoleDurationSeconds != nil {
				o.Duration = *c.RoleDurationSeconds
			}
		}
	}
}

// sdk returns the SDK's provider for profile.
func (b *builder) sdk(ctx context.Context, profile string) (aws.CredentialsProvider, error) {
	opts := append(b.loadOptions(), config.WithSharedConfigProfile(profile),
		config.WithAssumeRoleCredentialOptions(b.roleDefaults),
		config.WithWebIdentityRoleCredentialOptions(func(o *stscreds.WebIdentityRoleOptions) {
			if o.RoleSessionName == "" {
				o.RoleSessionName = b.r.SessionName
			}
		}),
	)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if c, ok := cfg.Credentials.(*aws.CredentialsCache); ok {
		return uncached{c}, nil
	}
	return cfg.Credentials, nil
}

func (b *builder) loadOptions() []func(*config.LoadOptions) error {
	return []func(*config.LoadOptions) error{
		config.WithSharedConfigFiles(b.p.Files.Config),
		config.WithSharedCredentialsFiles(b.p.Files.Credentials),
		config.WithRegion(b.region),
		config.WithAPIOptions([]func(*middleware.Stack) error{b.r.recordDate}),
		config.WithHTTPClient(b.r.httpClient()),
		config.WithRetryer(newRetryer),
	}
}

func (b *builder) baseConfig(ctx context.Context, creds aws.CredentialsProvider) (aws.Config, error) {
	opts := append(b.loadOptions(), config.WithCredentialsProvider(creds), config.WithSharedConfigProfile(b.p.Name))
	return config.LoadDefaultConfig(ctx, opts...)
}

func (b *builder) stsClient(ctx context.Context, creds aws.CredentialsProvider) (*sts.Client, error) {
	cfg, err := b.baseConfig(ctx, creds)
	if err != nil {
		return nil, err
	}
	return sts.NewFromConfig(cfg), nil
}

// process returns the credential_process provider of c.
func (b *builder) process(c *config.SharedConfig) aws.CredentialsProvider {
	timeout := b.r.ProcessTimeout
	if t := b.p.Ext[c.Profile].CredentialProcessTimeout; t != 0 {
		timeout = t
	}
	return &processProvider{command: c.CredentialProcess, profile: c.Profile, timeout: timeout}
}

// describe names a profile's credential source for people.
func describe(c *config.SharedConfig) string {
	var parts []string
	for ; c != nil; c = c.Source {
		var kind string
		switch {
		case c.RoleARN != "" && c.WebIdentityTokenFile != "":
			kind = "web identity " + c.RoleARN
		case c.RoleARN != "":
			kind = "role " + c.RoleARN
		case c.Credentials.HasKeys():
			kind = "static keys"
		case c.SSOSessionName != "" || c.SSOStartURL != "":
			kind = "SSO " + c.SSOAccountID + "/" + c.SSORoleName
		case c.LoginSession != "":
			kind = "aws login"
		case c.CredentialProcess != "":
			kind = "credential_process"
		case c.CredentialSource != "":
			kind = c.CredentialSource
		default:
			kind = "default chain"
		}
		if c.MFASerial != "" {
			kind += " (MFA " + c.MFASerial + ")"
		}
		if c.RoleARN != "" && c.Source == nil && c.CredentialSource != "" {
			kind += " from " + c.CredentialSource
		}
		parts = append(parts, kind)
	}
	return strings.Join(parts, " ← ")
}
