package awsprofile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

func writeFiles(t *testing.T, config, creds string) string {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte(creds), 0o600)
	return home
}

func newResolver(t *testing.T) *Resolver {
	r := &Resolver{}
	if err := r.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	return r
}

const cfg = `[default]
region = eu-central-1
[profile dev]
region = eu-west-1
use_fips_endpoint = true
[profile role]
role_arn = arn:aws:iam::1:role/R
source_profile = dev
mfa_serial = arn:aws:iam::1:mfa/me
mfa_process = otp-cli dev
mfa_session_duration = 8h
[profile noregion]
`

func TestResolveProfileAndRegion(t *testing.T) {
	home := writeFiles(t, cfg, "[dev]\naws_access_key_id = A\naws_secret_access_key = S\n")
	r := newResolver(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		urlProfile string
		env        map[string]string
		profile    string
		explicit   bool
		region     string
		fips       bool
	}{
		{"url profile", "dev", nil, "dev", true, "eu-west-1", true},
		{"AWS_PROFILE", "", map[string]string{"AWS_PROFILE": "dev"}, "dev", true, "eu-west-1", true},
		{"default", "", nil, "default", false, "eu-central-1", false},
		{"AWS_REGION wins", "dev", map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "sa-east-1"}, "dev", true, "ap-south-1", true},
		{"AWS_DEFAULT_REGION next", "dev", map[string]string{"AWS_DEFAULT_REGION": "sa-east-1"}, "dev", true, "sa-east-1", true},
		{"no region", "noregion", nil, "noregion", true, "", false},
		{"fips from env", "noregion", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, "noregion", true, "", true},
		{"fips off in env wins", "dev", map[string]string{"AWS_USE_FIPS_ENDPOINT": "false"}, "dev", true, "eu-west-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": home}
			for k, v := range tt.env {
				env[k] = v
			}
			p, err := r.Resolve(ctx, tt.urlProfile, env)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.profile || p.Explicit != tt.explicit || p.Region != tt.region || p.FIPS != tt.fips {
				t.Errorf("got name=%s explicit=%v region=%q fips=%v", p.Name, p.Explicit, p.Region, p.FIPS)
			}
		})
	}
}

func TestResolveExtensionsAndProfiles(t *testing.T) {
	home := writeFiles(t, cfg, "[dev]\naws_access_key_id = A\naws_secret_access_key = S\n[onlycreds]\naws_access_key_id = B\naws_secret_access_key = S\n")
	p, err := newResolver(t).Resolve(context.Background(), "role", map[string]string{"HOME": home})
	if err != nil {
		t.Fatal(err)
	}
	if ext := p.Ext["role"]; ext.MFAProcess != "otp-cli dev" || ext.MFASessionDuration != 8*time.Hour {
		t.Errorf("extensions = %+v", ext)
	}
	if got := strings.Join(p.Profiles, ","); got != "default,dev,noregion,onlycreds,role" {
		t.Errorf("profiles = %s", got)
	}
	if d := Describe(p); !strings.Contains(d, "role arn:aws:iam::1:role/R (MFA arn:aws:iam::1:mfa/me) ← static keys") {
		t.Errorf("Describe = %q", d)
	}
}

func TestResolveErrors(t *testing.T) {
	home := writeFiles(t, cfg+"[profile broken]\nrole_arn = arn:aws:iam::1:role/X\nsource_profile = gone\n[profile badmfa]\nmfa_session_duration = forever\n"+
		"[profile loopa]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = loopb\n[profile loopb]\nrole_arn = arn:aws:iam::1:role/B\nsource_profile = loopa\n"+
		"[profile self]\nrole_arn = arn:aws:iam::1:role/S\nsource_profile = self\n"+
		"[profile selfkeys]\nrole_arn = arn:aws:iam::1:role/S\nsource_profile = selfkeys\naws_access_key_id = A\naws_secret_access_key = S\n"+
		"[profile nosrc]\nrole_arn = arn:aws:iam::1:role/N\nsource_profile = empty\n[profile empty]\nregion = us-east-1\n", "")
	r := newResolver(t)
	for _, tt := range []struct {
		profile string
		kind    error
		want    string
	}{
		{"nope", broker.ErrProfileNotFound, "profiles that exist: badmfa, broken, default, dev, empty, loopa, loopb, noregion, nosrc, role, self, selfkeys"},
		{"broken", broker.ErrProfileNotFound, "source_profile gone"},
		{"badmfa", broker.ErrInvalidRequest, "mfa_session_duration"},
		{"loopa", broker.ErrInvalidRequest, "loop (loopa → loopb → loopa)"},
		{"self", broker.ErrInvalidRequest, "loop (self → self)"},
		{"nosrc", broker.ErrNoCredentials, "takes its credentials from profile empty, which has none"},
	} {
		_, err := r.Resolve(context.Background(), tt.profile, map[string]string{"HOME": home})
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want %v saying %q", tt.profile, err, tt.kind, tt.want)
		}
	}
	if _, err := r.Resolve(context.Background(), "", map[string]string{"HOME": home, "AWS_PROFILE": "ghost"}); err == nil ||
		!strings.HasPrefix(err.Error(), "profile ghost (from AWS_PROFILE) not found in ") {
		t.Errorf("AWS_PROFILE=ghost: %v; want the message to say the name came from AWS_PROFILE", err)
	}
	if _, err := r.Resolve(context.Background(), "selfkeys", map[string]string{"HOME": home}); err != nil {
		t.Errorf("a profile that names itself as source and has keys is no loop: %v", err)
	}
}

func TestKeyFollowsTheConfiguration(t *testing.T) {
	home := writeFiles(t, cfg, "[dev]\naws_access_key_id = A\naws_secret_access_key = S\n")
	r := newResolver(t)
	ctx := context.Background()
	env := map[string]string{"HOME": home}
	key := func() string {
		t.Helper()
		p, err := r.Resolve(ctx, "role", env)
		if err != nil {
			t.Fatal(err)
		}
		return p.Key
	}
	k1 := key()
	if k1 != key() {
		t.Fatal("the key is not stable")
	}
	// Editing an unrelated profile leaves the key alone.
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(cfg+"[profile other]\nregion = us-west-2\n"), 0o600)
	if key() != k1 {
		t.Error("an unrelated edit changed the key (and would drop cached credentials)")
	}
	// Editing the source profile's keys changes it.
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[dev]\naws_access_key_id = A2\naws_secret_access_key = S\n"), 0o600)
	k2 := key()
	if k2 == k1 {
		t.Error("changing the source profile's keys kept the key")
	}
	// Editing the profile itself changes it.
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(strings.Replace(cfg, "role/R", "role/R2", 1)), 0o600)
	if key() == k2 {
		t.Error("changing role_arn kept the key")
	}
	// The same profile read from other files is another key.
	if p, _ := r.Resolve(ctx, "role", map[string]string{"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, ".aws", "config")}); p == nil {
		t.Fatal("explicit AWS_CONFIG_FILE failed")
	}
}

func TestFlushRereadsUnchangedLookingFiles(t *testing.T) {
	home := writeFiles(t, "[profile dev]\nregion = eu-west-1\n", "")
	r := newResolver(t)
	env := map[string]string{"HOME": home}
	ctx := context.Background()
	p, _ := r.Resolve(ctx, "dev", env)
	// Same size, same mtime: the stat cache cannot see this edit.
	path := filepath.Join(home, ".aws", "config")
	fi, _ := os.Stat(path)
	os.WriteFile(path, []byte("[profile dev]\nregion = eu-west-2\n"), 0o600)
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	if p2, _ := r.Resolve(ctx, "dev", env); p2.Region != p.Region {
		t.Skip("the file system changed the inode; nothing to prove here")
	}
	r.Flush()
	if p3, _ := r.Resolve(ctx, "dev", env); p3.Region != "eu-west-2" {
		t.Errorf("after Flush region = %s, want eu-west-2", p3.Region)
	}
}

func TestDefaultSessionName(t *testing.T) {
	n := DefaultSessionName()
	if !strings.HasPrefix(n, "codecommitd-") || len(n) > 64 || strings.ContainsAny(n, " /\\") {
		t.Errorf("DefaultSessionName() = %q", n)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"43200": 12 * time.Hour, "8h": 8 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"37h", "60", "soon", ""} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

func TestSkewMessage(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if m := SkewMessage(7*time.Minute, at); !strings.Contains(m, "7m0s behind AWS's") || !strings.Contains(m, "12:07:00Z") {
		t.Errorf("behind: %s", m)
	}
	if m := SkewMessage(-7*time.Minute, at); !strings.Contains(m, "7m0s ahead of AWS's") || !strings.Contains(m, "11:53:00Z") {
		t.Errorf("ahead: %s", m)
	}
	r := newResolver(t)
	if r.SkewWarning() != "" {
		t.Error("warning before any observation")
	}
	r.skew.observe(at.Add(6*time.Minute), at)
	if r.SkewWarning() == "" {
		t.Error("no warning for 6 minutes")
	}
	r.skew.observe(at.Add(time.Minute), at)
	if r.SkewWarning() != "" {
		t.Error("a warning for 1 minute")
	}
}

func TestProcessErrorsLeakNothing(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755)
		return p
	}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"bad expiration", `echo '{"Version":1,"AccessKeyId":"ASIALEAK","SecretAccessKey":"SECRETLEAK","SessionToken":"TOKENLEAK","Expiration":"2030-01-01 00:00:00"}'`, "not the credential_process JSON"},
		{"exit with secrets on stderr", "echo 'debug: AWS_SECRET_ACCESS_KEY=SECRETLEAK' >&2; echo 'login expired, run sso-login' >&2; echo '{\"SessionToken\":\"TOKENLEAK\"}'; exit 4", "exit status 4"},
		{"not json", `echo 'ASIALEAK SECRETLEAK'`, "not the credential_process JSON"},
		{"killed by a signal", `echo '{"SessionToken":"TOKENLEAK"}'; kill -TERM $PPID`, "it was ended by signal 15 (terminated)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &processProvider{command: script(strings.ReplaceAll(tt.name, " ", "-"), tt.body) + " --token TOKENLEAK", profile: "dev", timeout: 10 * time.Second}
			_, err := p.Retrieve(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			r := newResolver(t)
			msg := r.Classify(&Profile{Name: "dev"}, err).Error()
			for _, leak := range []string{"ASIALEAK", "SECRETLEAK", "TOKENLEAK"} {
				if strings.Contains(msg, leak) {
					t.Errorf("the error leaks %s: %s", leak, msg)
				}
			}
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "profile dev") {
				t.Errorf("error = %s, want it to say %q", msg, tt.want)
			}
			if tt.name == "exit with secrets on stderr" && !strings.Contains(msg, "login expired, run sso-login") {
				t.Errorf("the harmless stderr line was dropped: %s", msg)
			}
		})
	}
}
