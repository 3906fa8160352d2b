// Package localbroker is the credential broker itself, in this process:
// the broker.Broker implementation that resolves a request's profile
// (package awsprofile), keeps each resolved profile's provider chain (built
// once, asked at every refresh), gets its credentials from a credential
// manager (package credmgr), asks for the MFA sessions the chain needs
// through a gate that lets one caller prompt while the others wait, signs
// the CodeCommit password (package sigv4), and reports status and recent
// use.
//
// A Broker is built from a Config (New); what its owner needs is a method:
// Run keeps credentials warm, Reload re-reads the AWS config files (SIGHUP),
// Close ends a broker that does not run. The daemon serves it over gRPC;
// `codecommitd oneshot` runs it for one request when no daemon can be
// reached. It reads the time from package time (its tests fake it with
// testing/synctest), except the clock passwords are signed by
// (Config.Now).
package localbroker

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sigv4"
	"github.com/codecommitd/codecommitd/internal/sso"
	"github.com/codecommitd/codecommitd/internal/transport"
)

// Config configures a Broker. The zero Config is valid: credentials in
// memory only, credmgr.DefaultPolicy, nothing logged.
type Config struct {
	// Log receives what the broker and its credential manager log, each
	// line marked with the component that wrote it; nil discards it.
	Log *slog.Logger
	// Store persists temporary credentials, and recent use when it is
	// also a UsageStore; nil keeps them in memory only.
	Store credmgr.Store
	// Policy says when credentials are refreshed and how failed
	// refreshes are retried; the zero Policy means credmgr.DefaultPolicy.
	Policy credmgr.Policy
	// Info fills the daemon-wide fields of Status (pid, socket, version,
	// cache); a zero PID means this process's.
	Info broker.Status
	// CacheProblem, if set, says what is wrong with the persistent cache,
	// for Status.
	CacheProblem func() string
	// MFAPromptTimeout bounds how long callers wait for another caller's
	// MFA prompt; zero means DefaultMFAPromptTimeout.
	MFAPromptTimeout time.Duration
	// Now, if set, is the clock passwords are signed by; nil means
	// time.Now. A test moves it to see a password outlive its window.
	Now func() time.Time
	// SSO reads, refreshes and writes the IAM Identity Center token files
	// (the AWS CLI's); nil means one of the broker's own
	// (awsprofile.NewSSOClient). The daemon shares it with Keeper.
	SSO *sso.Client
	// Keeper, if set, is told of each use of an SSO profile, keeps those
	// sessions signed in, and reports them in Status; nil (a one-shot)
	// keeps none.
	Keeper *sso.Keeper
	// SignIn makes the broker sign in, for a caller that can show it, a
	// session that is over (ErrSSOSignIn), one sign-in per session for
	// every caller waiting on it; the daemon does, a one-shot (which ends
	// with its request) does not, and says what to run instead.
	SignIn bool
	// Transport, if set, carries every AWS call instead of the network
	// (tests on a synctest bubble's clock, with package fakests'
	// in-memory stand-in).
	Transport http.RoundTripper
	// GitTransport, if set, is the git transport OpenTransport grants
	// capabilities of; nil (the one-shot) refuses OpenTransport.
	GitTransport *transport.Transport
}

// CheckAndSetDefaults fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.MFAPromptTimeout == 0 {
		c.MFAPromptTimeout = DefaultMFAPromptTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Broker is the credential broker itself: it resolves profiles, keeps
// their credentials in a credential manager and signs passwords. It
// implements broker.Broker; the gRPC adapter serves it, and `codecommitd
// oneshot` runs it in-process for one request when no daemon can be
// reached.
//
// Build one with New (the zero value is not usable). It serves SignURL,
// Status and Forget from the moment New returns. Run, called once, keeps
// recently used credentials warm until its context ends, then closes the
// broker; a broker that does not run is closed with Close when done. Once
// closed, it serves only the credentials it holds.
type Broker struct {
	log          *slog.Logger
	resolver     *awsprofile.Resolver
	manager      *credmgr.Manager
	signer       sigv4.Signer
	now          func() time.Time
	info         broker.Status
	cacheProblem func() string
	mfaTimeout   time.Duration
	// store is the one the manager persists to; usage also records
	// recent use there when it can (UsageStore). Nil: memory only.
	store  credmgr.Store
	chains chains
	mfa    mfaGate
	usage  usage
	// tokens are the SSO token files; keeper, if set, keeps their
	// sessions alive; signIns are the sign-ins under way (signInFromGit).
	tokens        *sso.Client
	keeper        *sso.Keeper
	signInFromGit bool
	signIns       signIns
	// ctx is the broker's own, for what outlives a request (a sign-in);
	// stop ends it (Close, or the end of Run).
	ctx       context.Context
	stop      context.CancelFunc
	transport *transport.Transport
}

var _ broker.Broker = (*Broker)(nil)

// ScrubEnvironment removes from this process's environment the variables a
// request carries (broker.EnvVars, but HOME), so that the daemon's own
// environment (inherited from whatever started it) never decides a profile,
// region or credentials; each request's environment does.
func ScrubEnvironment() {
	for _, k := range broker.EnvVars {
		if k != "HOME" {
			os.Unsetenv(k)
		}
	}
}

// New returns a Broker configured by cfg.
func New(cfg Config) (*Broker, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	m, err := credmgr.New(credmgr.Config{Log: cfg.Log, Store: cfg.Store, Policy: cfg.Policy})
	if err != nil {
		return nil, err
	}
	if cfg.SSO == nil {
		if cfg.SSO, err = awsprofile.NewSSOClient(context.Background(), cfg.Log, cfg.Transport); err != nil {
			return nil, err
		}
	}
	r := &awsprofile.Resolver{SSO: cfg.SSO, Transport: cfg.Transport}
	if err := r.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Broker{
		log: cfg.Log.With(slog.String("component", "broker")), resolver: r, manager: m, now: cfg.Now,
		info: cfg.Info, cacheProblem: cfg.CacheProblem, mfaTimeout: cfg.MFAPromptTimeout, store: cfg.Store,
		tokens: cfg.SSO, keeper: cfg.Keeper, signInFromGit: cfg.SignIn, ctx: ctx, stop: stop, transport: cfg.GitTransport,
	}, nil
}

// String names the broker for the daemon's supervisor.
func (b *Broker) String() string { return "credential broker" }

// Run keeps recently used credentials warm until ctx ends (credmgr's Run),
// then closes the broker, ending the sign-ins under way: cancel ctx only
// once no request needs it.
func (b *Broker) Run(ctx context.Context) error {
	defer b.stop()
	return b.manager.Run(ctx)
}

// Close cancels the fetches and sign-ins under way and waits until every
// credential obtained so far is saved; for a broker that does not run
// (`codecommitd oneshot`), whose next run reads them from the cache.
func (b *Broker) Close() {
	b.stop()
	b.manager.Close()
}

// Reload makes the next request read the AWS config files again and build
// its profile's provider chain anew (SIGHUP).
func (b *Broker) Reload() {
	b.resolver.Flush()
	b.chains.flush()
}

// SignURL implements broker.Broker.
func (b *Broker) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	r, err := b.resolve(ctx, req)
	if err != nil {
		return nil, err
	}
	path := codecommit.RepositoryPath(req.Repository)
	signed := b.signer.Sign(r.creds, r.region, r.host, path, b.now())
	// A password works until its signature's window closes, or until the
	// credentials behind it expire, whichever comes first.
	expires := signed.Expires
	if !r.creds.Expires.IsZero() && r.creds.Expires.Before(expires) {
		expires = r.creds.Expires
	}
	return &broker.SignedURL{
		URL: "https://" + r.host + path, Username: signed.Username, Password: signed.Password, Expires: expires,
		Profile: r.p.Name, Region: r.region, Warnings: r.warnings,
	}, nil
}

// resolved is a request resolved as far as signing: its profile, region,
// host and credentials.
type resolved struct {
	p            *awsprofile.Profile
	region, host string
	warnings     []string
	creds        sigv4.Credentials
}

// resolve checks req, resolves its profile, region and host, and gets
// the profile's credentials (asking for MFA as the request allows): all
// SignURL and OpenTransport do before they sign or grant.
func (b *Broker) resolve(ctx context.Context, req *broker.SignRequest) (*resolved, error) {
	if err := codecommit.ValidateRepositoryName(req.Repository); err != nil {
		return nil, broker.Errorf(broker.ErrInvalidRequest, req.Profile, "%s", err)
	}
	if err := checkHost(req); err != nil {
		return nil, err
	}
	if err := checkProfileName(req.Profile, "the URL"); err != nil {
		return nil, err
	}
	if err := checkProfileName(req.Env["AWS_PROFILE"], "AWS_PROFILE"); err != nil {
		return nil, err
	}
	if req.Region != "" && !codecommit.ValidRegionName(req.Region) {
		return nil, broker.Errorf(broker.ErrInvalidRequest, req.Profile, "%q is not an AWS region name (like us-east-1)", req.Region)
	}
	p, err := b.resolver.Resolve(ctx, req.Profile, req.Env)
	if err != nil {
		return nil, err
	}
	region, host, warnings, err := b.where(p, req)
	if err != nil {
		return nil, err
	}
	canPrompt := req.Prompt != broker.PromptUnavailable
	creds, err := b.credentials(ctx, p, region, req.Probe, mfaAsk{code: req.MFACode, canPrompt: canPrompt, promptFailed: req.MFAPromptFailed},
		signInAsk{canPrompt: canPrompt, shown: req.SSOSignInShown, browser: req.Browser})
	if err != nil {
		return nil, err
	}
	if w := b.resolver.SkewWarning(); w != "" {
		warnings = append(warnings, "warning: "+w)
	}
	if !req.Probe {
		b.usage.touch(ctx, b.store, p.Name, time.Now(), b.log)
	}
	return &resolved{p: p, region: region, host: host, warnings: warnings, creds: creds}, nil
}

// MaxProfileName bounds a profile name in a request.
const MaxProfileName = 256

// checkProfileName refuses a profile name no config file can hold, before
// it is echoed in any message.
func checkProfileName(name, from string) error {
	switch {
	case len(name) > MaxProfileName:
		return broker.Errorf(broker.ErrInvalidRequest, "", "the profile name from %s is %d bytes long (it starts %s); profile names are at most %d bytes",
			from, len(name), clean.Quote(name, 40), MaxProfileName)
	case name != clean.Line(name, MaxProfileName) || strings.ContainsAny(name, "[]"):
		return broker.Errorf(broker.ErrInvalidRequest, "", "the profile name from %s, %s, holds characters a profile name cannot (brackets, control characters, invalid UTF-8, leading or repeated spaces)",
			from, clean.Quote(name, 60))
	}
	return nil
}

// checkHost refuses to sign for a host that is not a CodeCommit git
// endpoint (codecommit.CheckEndpoint): the known endpoint forms, or the
// caller's CODE_COMMIT_ENDPOINT, each a valid host[:port].
func checkHost(req *broker.SignRequest) error {
	if req.Host == "" {
		return nil
	}
	if _, err := codecommit.CheckEndpoint(req.Host, req.Env["CODE_COMMIT_ENDPOINT"]); err != nil {
		return broker.Errorf(broker.ErrInvalidRequest, req.Profile, "%s", err)
	}
	return nil
}

// where decides the region and host of a request.
func (b *Broker) where(p *awsprofile.Profile, req *broker.SignRequest) (region, host string, warnings []string, err error) {
	region = req.Region
	if req.Host != "" {
		if h, ok := codecommit.ParseHost(req.Host); ok && region == "" {
			region = h.Region
		}
		host = req.Host
	}
	if region == "" {
		region = p.Region
	}
	if region == "" {
		return "", "", nil, broker.Errorf(broker.ErrRegionMissing, p.Name,
			"no region for profile %s: add `region = us-east-1` (your region) to [%s] in %s, or name it in the URL as codecommit::<region>://%s@<repository>",
			p.Name, awsprofile.SectionName(p.Name), p.Files.Config[0], p.Name)
	}
	if !codecommit.ValidRegionName(region) {
		return "", "", nil, broker.Errorf(broker.ErrInvalidRequest, p.Name,
			"region %q of profile %s is not an AWS region name (like us-east-1); fix it", region, p.Name)
	}
	if w := codecommit.UnknownRegionWarning(region); w != "" {
		warnings = append(warnings, w)
	}
	if host == "" {
		if p.Endpoint != "" {
			if err := codecommit.ValidateEndpointOverride(p.Endpoint); err != nil {
				return "", "", nil, broker.Errorf(broker.ErrInvalidRequest, p.Name, "%s", err)
			}
		}
		host = codecommit.Endpoint(region, p.FIPS, p.Endpoint)
	}
	return region, host, warnings, nil
}

// credentials returns usable credentials for p. When the cached ones are
// gone it first has the chain's SSO sessions signed in and its MFA
// sessions established, asking the caller for what a person must do; a
// session the portal turns out to have ended is signed in once more. A
// probe (broker.SignRequest.Probe) counts as no use of p or its sessions.
func (b *Broker) credentials(ctx context.Context, p *awsprofile.Profile, region string, probe bool, ask mfaAsk, signIn signInAsk) (sigv4.Credentials, error) {
	if !probe {
		b.useSSO(p)
	}
	spec := credmgr.Spec{Key: p.Key, Profile: p.Name, Source: awsprofile.Describe(p), Fetch: b.fetcher(p, region), Probe: probe}
	if _, ok := b.manager.Peek(p.Key); ok {
		return b.manager.Get(ctx, spec) // counts the use, refreshes in the background if due
	}
	chain, err := b.chain(ctx, p, region)
	if err != nil {
		return sigv4.Credentials{}, b.resolver.Classify(p, err)
	}
	if err := b.ensureSSO(ctx, p, signIn, ""); err != nil {
		return sigv4.Credentials{}, err
	}
	for _, s := range chain.MFA {
		if err := b.ensureMFA(ctx, b.session(p, s), ask); err != nil {
			return sigv4.Credentials{}, b.resolver.Classify(p, err)
		}
	}
	c, err := b.manager.Get(ctx, spec)
	if refused, ok := b.portalRefused(err); ok && b.signInFromGit {
		if err := b.ensureSSO(ctx, p, signIn, refused); err != nil {
			return sigv4.Credentials{}, err
		}
		c, err = b.manager.Get(ctx, spec)
	}
	return c, b.resolver.Classify(p, err)
}

// fetcher returns the FetchFunc of p's entry: retrieve from p's chain.
func (b *Broker) fetcher(p *awsprofile.Profile, region string) credmgr.FetchFunc {
	return func(ctx context.Context) (sigv4.Credentials, error) {
		chain, err := b.chain(ctx, p, region)
		if err != nil {
			return sigv4.Credentials{}, err
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			return sigv4.Credentials{}, b.resolver.Classify(p, err)
		}
		out := sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: c.Source}
		if c.CanExpire {
			out.Expires = c.Expires
		}
		return out, nil
	}
}

// Status implements broker.Broker.
func (b *Broker) Status(ctx context.Context) (*broker.Status, error) {
	st := b.info
	if st.PID == 0 {
		st.PID = os.Getpid()
	}
	if b.cacheProblem != nil {
		st.CacheProblem = b.cacheProblem()
	}
	st.Profiles = b.manager.Statuses()
	st.RecentProfiles = b.usage.recent(b.store, time.Now().Add(-RecentWindow))
	st.Environment = envvar.Values(os.Environ(), envvar.Shown, clean.EnvValue)
	st.ClockSkew, st.ClockSkewAt = b.resolver.ClockSkew()
	st.SSOSessions = b.ssoStatus()
	st.Transport = b.transportStatus()
	return &st, nil
}

// Forget implements broker.Broker.
func (b *Broker) Forget(ctx context.Context, profile string, all bool) (int, error) {
	if !all && profile == "" {
		return 0, broker.Errorf(broker.ErrInvalidRequest, "", "name a profile to forget, or ask to forget all")
	}
	n, err := b.manager.Forget(profile, all)
	if err != nil {
		return n, broker.Errorf(broker.ErrSourceFailed, profile, "forgot %d entries, but the cache file could not be updated: %v", n, err)
	}
	b.Reload() // and the SDK's caches of sources in the chains
	b.log.InfoContext(ctx, "forgot cached credentials", "profile", profile, "all", all, "entries", n)
	return n, nil
}
