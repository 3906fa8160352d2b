// Package localbroker is the credential broker itself, in this process:
// the broker.Broker implementation that resolves a request's profile
// (package awsprofile), gets its credentials from a credential manager
// (package credmgr), asks for MFA sessions through a gate that lets one
// caller prompt while the others wait, signs the CodeCommit password
// (package sigv4), and reports status and recent use.
//
// The daemon serves it over gRPC; `codecommitd oneshot` runs it for one
// request when no daemon can be reached.
package localbroker

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jonboulle/clockwork"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// Service is the credential broker itself: it resolves profiles, keeps
// their credentials in a Manager and signs passwords. It implements
// broker.Broker; the gRPC adapter serves it, and `codecommitd` runs it
// in-process for one request when no daemon can be reached.
type Service struct {
	Resolver *awsprofile.Resolver
	Manager  *credmgr.Manager
	Signer   *sigv4.Signer
	Clock    clockwork.Clock
	Log      *slog.Logger
	// MFAPromptTimeout bounds how long callers wait for another caller's
	// MFA prompt.
	MFAPromptTimeout time.Duration
	// Info fills the daemon-wide fields of Status.
	Info broker.Status
	// CacheProblem, if set, says what is wrong with the persistent cache.
	CacheProblem func() string

	// store is the one the Manager persists to; usage also records recent
	// use there when it can (UsageStore). Nil: memory only.
	store credmgr.Store
	mfa   mfaGate
	usage usage
}

var _ broker.Broker = (*Service)(nil)

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

// NewService returns a Service ready to use, its credential manager built
// from mc (whose Log defaults to log; a nil Store keeps credentials in
// memory only). A nil clock means the real one, a nil log discards.
func NewService(clock clockwork.Clock, log *slog.Logger, mc credmgr.Config) (*Service, error) {
	if mc.Log == nil {
		mc.Log = log
	}
	m, err := credmgr.New(mc)
	if err != nil {
		return nil, err
	}
	svc := &Service{
		Clock:    clock,
		Log:      log,
		Resolver: &awsprofile.Resolver{},
		Manager:  m,
		store:    mc.Store,
	}
	return svc, svc.CheckAndSetDefaults()
}

// CheckAndSetDefaults fills in defaults and checks the parts.
func (svc *Service) CheckAndSetDefaults() error {
	if svc.Clock == nil {
		svc.Clock = clockwork.NewRealClock()
	}
	if svc.Log == nil {
		svc.Log = slog.New(slog.DiscardHandler)
	}
	if svc.Resolver == nil {
		svc.Resolver = &awsprofile.Resolver{}
	}
	if err := svc.Resolver.CheckAndSetDefaults(); err != nil {
		return err
	}
	if svc.Manager == nil {
		m, err := credmgr.New(credmgr.Config{Log: svc.Log})
		if err != nil {
			return err
		}
		svc.Manager = m
	}
	if svc.Signer == nil {
		svc.Signer = &sigv4.Signer{}
	}
	if svc.MFAPromptTimeout == 0 {
		svc.MFAPromptTimeout = DefaultMFAPromptTimeout
	}
	return nil
}

// SignURL implements broker.Broker.
func (svc *Service) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
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
	p, err := svc.Resolver.Resolve(ctx, req.Profile, req.Env)
	if err != nil {
		return nil, err
	}
	region, host, warnings, err := svc.where(p, req)
	if err != nil {
		return nil, err
	}
	creds, err := svc.credentials(ctx, p, region, mfaAsk{code: req.MFACode, canPrompt: req.Prompt != broker.PromptUnavailable, promptFailed: req.MFAPromptFailed})
	if err != nil {
		return nil, err
	}
	if w := svc.Resolver.SkewWarning(); w != "" {
		warnings = append(warnings, "warning: "+w)
	}
	path := codecommit.RepositoryPath(req.Repository)
	signed := svc.Signer.Sign(creds, region, host, path, svc.Clock.Now())
	svc.usage.touch(ctx, svc.store, p.Name, svc.Clock.Now(), svc.Log)
	// A password works until its signature's window closes, or until the
	// credentials behind it expire, whichever comes first.
	expires := signed.Expires
	if !creds.Expires.IsZero() && creds.Expires.Before(expires) {
		expires = creds.Expires
	}
	return &broker.SignedURL{
		URL: "https://" + host + path, Username: signed.Username, Password: signed.Password, Expires: expires,
		Profile: p.Name, Region: region, Warnings: warnings,
	}, nil
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
func (svc *Service) where(p *awsprofile.Profile, req *broker.SignRequest) (region, host string, warnings []string, err error) {
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

// credentials returns usable credentials for p, asking for MFA sessions
// first when the chain needs them and the cached credentials are gone.
func (svc *Service) credentials(ctx context.Context, p *awsprofile.Profile, region string, ask mfaAsk) (sigv4.Credentials, error) {
	spec := credmgr.Spec{Key: p.Key, Profile: p.Name, Source: awsprofile.Describe(p), Fetch: svc.fetcher(p, region)}
	if _, ok := svc.Manager.Peek(p.Key); ok {
		return svc.Manager.Get(ctx, spec) // counts the use, refreshes in the background if due
	}
	_, sessions, err := svc.provider(ctx, p, region)
	if err != nil {
		return sigv4.Credentials{}, svc.Resolver.Classify(p, err)
	}
	for _, s := range sessions {
		if err := svc.ensureMFA(ctx, s, ask); err != nil {
			return sigv4.Credentials{}, svc.Resolver.Classify(p, err)
		}
	}
	c, err := svc.Manager.Get(ctx, spec)
	return c, svc.Resolver.Classify(p, err)
}

// provider builds p's credential provider and lists the MFA sessions it
// relies on.
func (svc *Service) provider(ctx context.Context, p *awsprofile.Profile, region string) (aws.CredentialsProvider, []*mfaSession, error) {
	var sessions []*mfaSession
	prov, err := svc.Resolver.Provider(ctx, p, region, func(key, serial, prof string, ext awsprofile.Extensions, src aws.CredentialsProvider, stsClient *sts.Client) aws.CredentialsProvider {
		s := &mfaSession{key: "mfa:" + key + ":" + serial, serial: serial, profile: prof, ext: ext, src: src, sts: stsClient,
			classify: func(err error) error { return svc.Resolver.Classify(p, err) }}
		sessions = append(sessions, s)
		return &mfaProvider{svc: svc, s: s}
	})
	return prov, sessions, err
}

// fetcher returns the FetchFunc of p's entry: build the provider, retrieve.
func (svc *Service) fetcher(p *awsprofile.Profile, region string) credmgr.FetchFunc {
	return func(ctx context.Context) (sigv4.Credentials, error) {
		prov, _, err := svc.provider(ctx, p, region)
		if err != nil {
			return sigv4.Credentials{}, err
		}
		c, err := prov.Retrieve(ctx)
		if err != nil {
			return sigv4.Credentials{}, svc.Resolver.Classify(p, err)
		}
		out := sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: c.Source}
		if c.CanExpire {
			out.Expires = c.Expires
		}
		return out, nil
	}
}

// Status implements broker.Broker.
func (svc *Service) Status(ctx context.Context) (*broker.Status, error) {
	st := svc.Info
	if st.PID == 0 {
		st.PID = os.Getpid()
	}
	if svc.CacheProblem != nil {
		st.CacheProblem = svc.CacheProblem()
	}
	st.Profiles = svc.Manager.Statuses()
	st.RecentProfiles = svc.usage.recent(svc.store, svc.Clock.Now().Add(-RecentWindow))
	st.Environment = envvar.Values(os.Environ(), envvar.Shown, clean.EnvValue)
	st.ClockSkew, st.ClockSkewAt = svc.Resolver.ClockSkew()
	return &st, nil
}

// Forget implements broker.Broker.
func (svc *Service) Forget(ctx context.Context, profile string, all bool) (int, error) {
	if !all && profile == "" {
		return 0, broker.Errorf(broker.ErrInvalidRequest, "", "name a profile to forget, or ask to forget all")
	}
	n, err := svc.Manager.Forget(profile, all)
	if err != nil {
		return n, broker.Errorf(broker.ErrSourceFailed, profile, "forgot %d entries, but the cache file could not be updated: %v", n, err)
	}
	svc.Resolver.Flush()
	svc.Log.InfoContext(ctx, "forgot cached credentials", "profile", profile, "all", all, "entries", n)
	return n, nil
}
