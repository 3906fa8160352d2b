package awsprofile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"gopkg.in/ini.v1"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/sso"
)

// Extensions are codecommitd's own keys in a profile section, which the
// SDK ignores.
type Extensions struct {
	// MFAProcess is a command whose stdout is the current MFA code
	// (mfa_process, as aws-vault names it).
	MFAProcess string `json:",omitempty"`
	// MFASessionDuration is how long a GetSessionToken session lasts
	// (mfa_session_duration, seconds or a Go duration; default 12h, max 36h).
	MFASessionDuration time.Duration `json:",omitempty"`
	// CredentialProcessTimeout bounds one credential_process run
	// (credential_process_timeout, seconds or a Go duration, 1s to 1h;
	// default DefaultProcessTimeout).
	CredentialProcessTimeout time.Duration `json:",omitempty"`
}

// Default and limits of MFA sessions.
const (
	DefaultMFASessionDuration = 12 * time.Hour
	MaxMFASessionDuration     = 36 * time.Hour
)

// Profile is one profile as a request resolves it.
type Profile struct {
	// Name of the profile.
	Name string
	// Explicit reports whether the profile was named (by the URL or
	// AWS_PROFILE). Environment credentials apply only when it was not.
	Explicit bool
	// Exists reports whether the files define the profile.
	Exists bool
	// Config is the SDK's parse of the profile and its source chain.
	Config config.SharedConfig
	// Ext holds our extension keys, per profile name in the chain.
	Ext map[string]Extensions
	// Files the profile was read from.
	Files Files
	// Region from AWS_REGION, AWS_DEFAULT_REGION or the profile, in that
	// order; "" when none says.
	Region string
	// FIPS reports whether AWS_USE_FIPS_ENDPOINT or use_fips_endpoint asks
	// for FIPS endpoints.
	FIPS bool
	// Endpoint is CODE_COMMIT_ENDPOINT, if set.
	Endpoint string
	// Key fingerprints everything that decides the credentials.
	Key string
	// Profiles lists every profile the files define.
	Profiles []string
	// SSO lists the IAM Identity Center sessions the chain signs in with
	// (sso_session, or a legacy sso_start_url), from the top down; each
	// names the profile it is configured in.
	SSO []sso.Session

	env map[string]string
	// keysAt says where the static keys at the end of the source_profile
	// chain are ("[base] in /home/me/.aws/credentials"); "" when that
	// profile has none.
	keysAt string
}

// EnvCredentials returns the credentials in the caller's environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
func (p *Profile) EnvCredentials() aws.Credentials {
	return aws.Credentials{
		AccessKeyID: p.env["AWS_ACCESS_KEY_ID"], SecretAccessKey: p.env["AWS_SECRET_ACCESS_KEY"],
		SessionToken: p.env["AWS_SESSION_TOKEN"], Source: "EnvironmentVariables",
	}
}

// secrets returns the secret values p holds (environment credentials,
// static keys in its chain), so text shown to people can be scrubbed of
// them.
func (p *Profile) secrets() []string {
	out := []string{p.env["AWS_SECRET_ACCESS_KEY"], p.env["AWS_SESSION_TOKEN"]}
	for c := &p.Config; c != nil; c = c.Source {
		out = append(out, c.Credentials.SecretAccessKey, c.Credentials.SessionToken)
	}
	return out
}

// webIdentityTokenFile is the token file p's web identity uses.
func (p *Profile) webIdentityTokenFile() string {
	if p.usesEnvCredentials() {
		return p.env["AWS_WEB_IDENTITY_TOKEN_FILE"]
	}
	for c := &p.Config; c != nil; c = c.Source {
		if c.WebIdentityTokenFile != "" {
			return c.WebIdentityTokenFile
		}
	}
	return "(none set)"
}

// usesEnvCredentials reports whether the caller's environment credentials
// (keys, or a web identity token file and role) decide this request, as they
// do in the SDK and botocore when no profile is named.
func (p *Profile) usesEnvCredentials() bool {
	if p.Explicit {
		return false
	}
	return p.EnvCredentials().HasKeys() || (p.env["AWS_WEB_IDENTITY_TOKEN_FILE"] != "" && p.env["AWS_ROLE_ARN"] != "")
}

// Resolver resolves profiles and builds their credential providers. The
// zero value is not usable: set SessionName, or call CheckAndSetDefaults.
type Resolver struct {
	// SessionName is the role_session_name used when a profile sets none.
	SessionName string
	// ProcessTimeout bounds one credential_process or mfa_process run.
	ProcessTimeout time.Duration
	// SSO reads and refreshes the IAM Identity Center token files of SSO
	// profiles; nil means one made on first use (NewSSOClient). The
	// daemon shares its own with its session keeper.
	SSO *sso.Client
	// Transport, if set, carries every AWS call instead of the network,
	// with no bounds of its own (tests on a synctest bubble's clock).
	Transport http.RoundTripper

	httpOnce sync.Once
	http     aws.HTTPClient

	mu    sync.Mutex
	cache map[string]cachedProfile
	skew  skewRecorder
}

// maxCachedProfiles bounds the parsed-profile cache.
const maxCachedProfiles = 256

type cachedProfile struct {
	stamps  []stamp
	profile *Profile
}

// CheckAndSetDefaults fills in defaults.
func (r *Resolver) CheckAndSetDefaults() error {
	if r.SessionName == "" {
		r.SessionName = DefaultSessionName()
	}
	if r.ProcessTimeout == 0 {
		r.ProcessTimeout = DefaultProcessTimeout
	}
	return nil
}

// Flush forgets every parsed file, so the next request reads them again.
func (r *Resolver) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = nil
}

// Resolve returns the profile a request means: urlProfile if non-empty,
// else AWS_PROFILE from env, else "default". The result is shared; do not
// modify it.
func (r *Resolver) Resolve(ctx context.Context, urlProfile string, env map[string]string) (*Profile, error) {
	name, explicit, fromEnv := urlProfile, urlProfile != "", false
	if !explicit {
		if v := env["AWS_PROFILE"]; v != "" {
			name, explicit, fromEnv = v, true, true
		} else {
			name = "default"
		}
	}
	files := filesFor(env)
	for _, path := range files.all() {
		if err := checkFile(path); err != nil {
			return nil, broker.Errorf(broker.ErrInvalidRequest, name, "cannot read the AWS configuration for profile %s: %v", clean.Quote(name, 100), err)
		}
	}
	stamps, err := stampsOf(files)
	if err != nil {
		return nil, broker.Errorf(broker.ErrInvalidRequest, name, "cannot read the AWS configuration for profile %s: %v", clean.Quote(name, 100), err)
	}
	ck := cacheKey(name, explicit, files, env)
	r.mu.Lock()
	c, ok := r.cache[ck]
	r.mu.Unlock()
	if ok && sameStamps(c.stamps, stamps) {
		return c.profile, nil
	}
	p, err := load(ctx, name, explicit, files, env)
	if p == nil && fromEnv {
		var be *broker.Error
		if errors.As(err, &be) && errors.Is(err, broker.ErrProfileNotFound) && be.Profile == name {
			be.Msg = strings.Replace(be.Msg, "profile "+name+" not found", "profile "+name+" (from AWS_PROFILE) not found", 1)
		}
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.cache == nil || len(r.cache) >= maxCachedProfiles {
		// Keys hold the request's environment, credentials included:
		// bounded, so rotating environments do not pile up.
		r.cache = make(map[string]cachedProfile)
	}
	r.cache[ck] = cachedProfile{stamps, p}
	r.mu.Unlock()
	return p, nil
}

// cacheKey identifies a request's view of the files: the profile, whether
// it was named, the file paths and the request's environment.
func cacheKey(name string, explicit bool, files Files, env map[string]string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(name)
	if explicit {
		b.WriteString("\x00explicit")
	}
	for _, p := range files.Config {
		b.WriteString("\x00c=")
		b.WriteString(p)
	}
	for _, p := range files.Credentials {
		b.WriteString("\x00k=")
		b.WriteString(p)
	}
	for _, k := range broker.EnvVars {
		if v, ok := env[k]; ok {
			b.WriteString("\x00")
			b.WriteString(k)
			b.WriteString("=")
			b.WriteString(v)
		}
	}
	return b.String()
}

func load(ctx context.Context, name string, explicit bool, files Files, env map[string]string) (*Profile, error) {
	p := &Profile{Name: name, Explicit: explicit, Files: files, env: env, Endpoint: env["CODE_COMMIT_ENDPOINT"]}
	sections, err := readSections(files)
	if err != nil {
		var fe *fileParseError
		if errors.As(err, &fe) {
			return nil, parseError(name, []string{fe.path}, fe.err)
		}
		return nil, parseError(name, files.all(), err)
	}
	p.Profiles = sections.names()
	if loop := sections.sourceLoop(name); loop != nil {
		return nil, broker.Errorf(broker.ErrInvalidRequest, name,
			"profile %s: its source_profile chain goes round in a loop (%s); end the chain with a profile that has keys, a credential_source, web identity, SSO or a credential_process",
			clean.Quote(name, 100), strings.Join(loop, " → "))
	}
	sc, err := config.LoadSharedConfigProfile(ctx, name, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles, o.CredentialsFiles = files.Config, files.Credentials
	})
	var notExist config.SharedConfigProfileNotExistError
	var noSource config.SharedConfigAssumeRoleError
	switch {
	case errors.As(err, &notExist) && notExist.Profile == name:
		if explicit {
			return nil, p.notFound()
		}
	case errors.As(err, &notExist):
		return nil, broker.Errorf(broker.ErrProfileNotFound, name,
			"profile %s names source_profile %s, which does not exist in %s; add it or fix source_profile",
			name, notExist.Profile, strings.Join(append(files.Config, files.Credentials...), " or "))
	case errors.As(err, &noSource) && noSource.Err == nil:
		return nil, broker.Errorf(broker.ErrNoCredentials, name,
			"profile %s: role %s takes its credentials from profile %s, which has none (no keys, credential_source, web identity, SSO or credential_process); add them to [%s]",
			name, noSource.RoleARN, noSource.Profile, SectionName(noSource.Profile)).WithCause(err)
	case err != nil:
		return nil, parseError(name, files.all(), err)
	default:
		p.Exists = true
		p.Config = sc
	}
	if end := p.chainEnd(); p.Exists && end.Credentials.HasKeys() {
		p.keysAt = sections.keysAt(end.Profile, files)
	}
	p.Ext = map[string]Extensions{}
	for c := &p.Config; c != nil && p.Exists; c = c.Source {
		ext, err := sections.extensions(c.Profile)
		if err != nil {
			return nil, broker.Errorf(broker.ErrInvalidRequest, name, "profile %s: %v; fix it in %s", c.Profile, err, strings.Join(files.Config, " or "))
		}
		p.Ext[c.Profile] = ext
	}
	p.SSO = ssoSessions(p, sections)

	switch {
	case env["AWS_REGION"] != "":
		p.Region = env["AWS_REGION"]
	case env["AWS_DEFAULT_REGION"] != "":
		p.Region = env["AWS_DEFAULT_REGION"]
	default:
		p.Region = p.Config.Region
	}
	if v := env["AWS_USE_FIPS_ENDPOINT"]; v != "" {
		p.FIPS, _ = strconv.ParseBool(v)
	} else {
		p.FIPS = p.Config.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled
	}
	p.Key = fingerprint(p)
	return p, nil
}

func (p *Profile) notFound() error {
	msg := fmt.Sprintf("profile %s not found in %s", p.Name, strings.Join(append(append([]string(nil), p.Files.Config...), p.Files.Credentials...), " or "))
	if len(p.Profiles) > 0 {
		msg += "; profiles that exist: " + strings.Join(p.Profiles, ", ")
	} else {
		msg += "; no profiles exist: create one with `aws configure --profile " + p.Name + "`"
	}
	return &broker.Error{Kind: broker.ErrProfileNotFound, Profile: p.Name, Profiles: p.Profiles, Msg: msg}
}

// fingerprint hashes what decides a profile's credentials: its name, the
// files, the SDK's parse of the profile and its source chain, our
// extensions, and (when they apply) the caller's environment credentials.
func fingerprint(p *Profile) string {
	envCreds := map[string]string{}
	if p.usesEnvCredentials() {
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME"} {
			envCreds[k] = p.env[k]
		}
	}
	if p.Config.CredentialSource == "Environment" || sourceUsesEnv(&p.Config) {
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
			envCreds[k] = p.env[k]
		}
	}
	b, err := json.Marshal(struct {
		Name     string
		Explicit bool
		Exists   bool
		Files    Files
		Config   config.SharedConfig
		Ext      map[string]Extensions
		Env      map[string]string
	}{p.Name, p.Explicit, p.Exists, p.Files, p.Config, p.Ext, envCreds})
	if err != nil {
		// SharedConfig is plain data; this cannot happen, but a key
		// must never collide, so fall back to something unique.
		b = []byte(fmt.Sprintf("%p", p))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sourceUsesEnv(c *config.SharedConfig) bool {
	for ; c != nil; c = c.Source {
		if c.CredentialSource == "Environment" {
			return true
		}
	}
	return false
}

// sections are the raw INI sections of the config and credentials files,
// for what the SDK does not expose: the list of profiles and our keys.
type sections struct {
	config, credentials []*ini.File
}

// fileParseError is the INI parser's refusal of one file. Its text quotes
// the file: see parseError.
type fileParseError struct {
	path string
	err  error
}

func (e *fileParseError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fileParseError) Unwrap() error { return e.err }

func readSections(files Files) (*sections, error) {
	var s sections
	opts := ini.LoadOptions{Loose: true, Insensitive: false, AllowNestedValues: true, SpaceBeforeInlineComment: true, AllowPythonMultilineValues: false}
	for _, p := range files.Config {
		f, err := ini.LoadSources(opts, p)
		if err != nil {
			return nil, &fileParseError{p, err}
		}
		s.config = append(s.config, f)
	}
	for _, p := range files.Credentials {
		f, err := ini.LoadSources(opts, p)
		if err != nil {
			return nil, &fileParseError{p, err}
		}
		s.credentials = append(s.credentials, f)
	}
	return &s, nil
}

func (s *sections) names() []string {
	seen := map[string]bool{}
	for _, f := range s.config {
		for _, sec := range f.SectionStrings() {
			switch {
			case sec == "default":
				seen[sec] = true
			case strings.HasPrefix(sec, "profile "):
				seen[strings.TrimSpace(strings.TrimPrefix(sec, "profile "))] = true
			}
		}
	}
	for _, f := range s.credentials {
		for _, sec := range f.SectionStrings() {
			if sec != ini.DefaultSection {
				seen[sec] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// key returns the value of key in profile's section of the config files,
// else of the credentials files, and whether one was found.
func (s *sections) key(profile, key string) (string, bool) {
	name := "profile " + profile
	if profile == "default" {
		name = "default"
	}
	for _, f := range s.config {
		if sec, err := f.GetSection(name); err == nil && sec.HasKey(key) {
			return strings.TrimSpace(sec.Key(key).String()), true
		}
	}
	for _, f := range s.credentials {
		if sec, err := f.GetSection(profile); err == nil && sec.HasKey(key) {
			return strings.TrimSpace(sec.Key(key).String()), true
		}
	}
	return "", false
}

// keysAt says where the SDK takes profile's static keys from, as
// "[section] in file": the credentials files win over the config files,
// and a later file over an earlier one (config.LoadSharedConfigProfile).
// It is "" when no file holds them.
func (s *sections) keysAt(profile string, files Files) string {
	for i := len(s.credentials) - 1; i >= 0; i-- {
		if sec, err := s.credentials[i].GetSection(profile); err == nil && sec.HasKey("aws_access_key_id") {
			return "[" + profile + "] in " + files.Credentials[i]
		}
	}
	for i := len(s.config) - 1; i >= 0; i-- {
		if sec, err := s.config[i].GetSection(SectionName(profile)); err == nil && sec.HasKey("aws_access_key_id") {
			return "[" + SectionName(profile) + "] in " + files.Config[i]
		}
	}
	return ""
}

// chainEnd is the profile at the end of p's source_profile chain: the one
// whose credentials every role in the chain is assumed from (p itself when
// it has no source_profile).
func (p *Profile) chainEnd() *config.SharedConfig {
	c := &p.Config
	for c.Source != nil {
		c = c.Source
	}
	return c
}

// sourceLoop returns the source_profile chain from profile when it comes
// back to a profile it passed (profile → b → profile), or nil. A profile
// that names itself and has keys of its own is no loop: the SDK uses its
// keys.
func (s *sections) sourceLoop(profile string) []string {
	chain := []string{profile}
	seen := map[string]bool{profile: true}
	for cur := profile; ; {
		src, ok := s.key(cur, "source_profile")
		if !ok || src == "" {
			return nil
		}
		if src == cur {
			if _, keys := s.key(cur, "aws_access_key_id"); keys {
				return nil
			}
		}
		chain = append(chain, src)
		if seen[src] || len(chain) > 64 {
			return chain
		}
		seen[src] = true
		cur = src
	}
}

// SectionName is the config-file section of profile: "default" or
// "profile <name>".
func SectionName(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

func (s *sections) extensions(profile string) (Extensions, error) {
	var ext Extensions
	for _, f := range s.config {
		for _, name := range []string{"profile " + profile, profile} {
			if name == profile && profile != "default" {
				continue // in the config file only [default] goes without "profile "
			}
			sec, err := f.GetSection(name)
			if err != nil {
				continue
			}
			if k, err := sec.GetKey("mfa_process"); err == nil {
				ext.MFAProcess = strings.TrimSpace(k.String())
			}
			if k, err := sec.GetKey("mfa_session_duration"); err == nil {
				d, err := parseDuration(k.String())
				if err != nil {
					return ext, fmt.Errorf("mfa_session_duration: %w", err)
				}
				ext.MFASessionDuration = d
			}
			if k, err := sec.GetKey("credential_process_timeout"); err == nil {
				d, err := parseSeconds(k.String(), time.Second, time.Hour)
				if err != nil {
					return ext, fmt.Errorf("credential_process_timeout: %w", err)
				}
				ext.CredentialProcessTimeout = d
			}
		}
	}
	return ext, nil
}

func parseDuration(v string) (time.Duration, error) {
	return parseSeconds(v, 15*time.Minute, MaxMFASessionDuration)
}

// parseSeconds reads seconds (43200) or a Go duration (12h) between lo
// and hi. Its errors never quote the value.
func parseSeconds(v string, lo, hi time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, errors.New("want seconds (43200) or a duration (12h)")
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("must be between %s and %s", lo, hi)
	}
	return d, nil
}
