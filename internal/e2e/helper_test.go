//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/fakests"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// staticEnv is a world with one IAM user whose keys are the "dev" profile.
func staticEnv(t *testing.T) (*testenv.Env, fakests.Identity) {
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	if err := e.WriteAWS("[profile dev]\nregion = us-east-1\n",
		"[dev]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}
	return e, u
}

// roundTrip clones url, pushes a commit, fetches it into a second clone and
// lists the remote, which covers every git operation a helper serves.
func roundTrip(t *testing.T, e *testenv.Env, url string) {
	t.Helper()
	dir, err := os.MkdirTemp(e.Dir, "rt")
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(filepath.Base(dir), "a"), filepath.Join(filepath.Base(dir), "b")
	git(t, e, "", "clone", "--quiet", url, a)
	git(t, e, a, "commit", "--quiet", "--allow-empty", "-m", "from a")
	git(t, e, a, "push", "--quiet", "origin", "main")
	git(t, e, "", "clone", "--quiet", url, b)
	git(t, e, a, "commit", "--quiet", "--allow-empty", "-m", "second")
	git(t, e, a, "push", "--quiet", "origin", "main")
	git(t, e, b, "fetch", "--quiet", "origin")
	head := strings.TrimSpace(git(t, e, a, "rev-parse", "HEAD"))
	if got := strings.TrimSpace(git(t, e, b, "rev-parse", "origin/main")); got != head {
		t.Fatalf("fetched origin/main = %s, want %s", got, head)
	}
	out := git(t, e, "", "ls-remote", url)
	if !strings.Contains(out, head+"\trefs/heads/main") {
		t.Fatalf("ls-remote = %q, want main at %s", out, head)
	}
}

func TestStaticProfile(t *testing.T) {
	e, u := staticEnv(t)
	roundTrip(t, e, "codecommit://dev@repo")
	reqs := e.Git.Requests()
	var authed int
	for _, r := range reqs {
		if r.Status == 403 {
			t.Errorf("request %s was refused: %s", r.Path, r.Reason)
		}
		if r.Principal == u.ARN {
			authed++
		}
	}
	if authed == 0 {
		t.Fatalf("no request was signed by %s: %+v", u.ARN, reqs)
	}
}

func TestURLForms(t *testing.T) {
	e, _ := staticEnv(t)
	// No profile in the URL: AWS_PROFILE decides.
	e.Extra = []string{"AWS_PROFILE=dev"}
	git(t, e, "", "ls-remote", "codecommit://repo")
	// The region form; git strips "codecommit::".
	git(t, e, "", "ls-remote", "codecommit::us-east-1://dev@repo")
	e.Extra = []string{"AWS_PROFILE=dev"}
	git(t, e, "", "ls-remote", "codecommit::us-east-1://repo")
}

func TestRoleProfiles(t *testing.T) {
	e := newEnv(t)
	u := e.STS.AddUser("alice")
	admin := e.STS.AddRole(fakests.Role{ARN: "Admin"})
	dev := e.STS.AddRole(fakests.Role{ARN: "Dev"})
	web := e.STS.AddRole(fakests.Role{ARN: "Web"})
	e.STS.AddWebIdentityToken("oidc-token", "repo:org/app")
	token := filepath.Join(e.Dir, "token")
	if err := os.WriteFile(token, []byte("oidc-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `[profile base]
region = us-east-1
[profile admin]
role_arn = ` + admin + `
source_profile = base
region = us-east-1
[profile dev]
role_arn = ` + dev + `
source_profile = admin
region = us-east-1
role_session_name = custom-session
[profile web]
role_arn = ` + web + `
web_identity_token_file = ` + token + `
region = us-east-1
`
	if err := e.WriteAWS(cfg, "[base]\naws_access_key_id = "+u.AccessKeyID+"\naws_secret_access_key = "+u.SecretAccessKey+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := e.Seed(ctx(t), "repo"); err != nil {
		t.Fatal(err)
	}

	t.Run("role", func(t *testing.T) {
		roundTrip(t, e, "codecommit://admin@repo")
		callers := e.STS.Callers("AssumeRole")
		if len(callers) != 1 || callers[0] != u.ARN {
			t.Fatalf("AssumeRole callers = %v, want exactly one by %s", callers, u.ARN)
		}
		issued := lastIssued(e, "Admin")
		if want := "codecommitd-"; !strings.HasPrefix(issued.RoleSessionName, want) {
			t.Errorf("role session name = %q, want the default %s<user>", issued.RoleSessionName, want)
		}
		assertLifetime(t, issued, 3600)
	})
	t.Run("chained", func(t *testing.T) {
		roundTrip(t, e, "codecommit://dev@repo")
		issued := lastIssued(e, "Dev")
		if issued.RoleSessionName != "custom-session" {
			t.Errorf("role session name = %q, want the profile's custom-session", issued.RoleSessionName)
		}
		// The Dev role was assumed by the Admin role, which base assumed.
		callers := e.STS.Callers("AssumeRole")
		if last := callers[len(callers)-1]; !strings.Contains(last, ":assumed-role/Admin/") {
			t.Errorf("Dev was assumed by %s, want the Admin role", last)
		}
	})
	t.Run("web identity", func(t *testing.T) {
		roundTrip(t, e, "codecommit://web@repo")
		if n := e.STS.Calls("AssumeRoleWithWebIdentity"); n != 1 {
			t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", n)
		}
		reqs := e.Git.Requests()
		if p := reqs[len(reqs)-1].Principal; !strings.Contains(p, ":assumed-role/Web/") {
			t.Errorf("last git request signed by %q, want the Web role", p)
		}
	})
}

func lastIssued(e *testenv.Env, role string) fakests.Identity {
	var last fakests.Identity
	for _, id := range e.STS.Issued() {
		if strings.Contains(id.ARN, ":assumed-role/"+role+"/") && id.Expires.After(last.Expires) {
			last = id
		}
	}
	return last
}

func assertLifetime(t *testing.T, id fakests.Identity, seconds int) {
	t.Helper()
	// The fake issues credentials for exactly the requested duration from
	// its clock, so the remaining lifetime tells what was asked for.
	left := int(time.Until(id.Expires).Seconds())
	if left < seconds-120 || left > seconds+5 {
		t.Errorf("credentials for %s last %ds, want about %ds", id.ARN, left, seconds)
	}
}
