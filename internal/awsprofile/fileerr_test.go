//go:build unix

package awsprofile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestConfigFilesThatAreNotFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	f, _ := os.Create(huge)
	f.Truncate(MaxConfigFile + 1) // sparse: costs no disk
	f.Close()
	r := newResolver(t)
	for _, tc := range []struct {
		path, want string
	}{
		{fifo, "not a regular file (it is a named pipe)"},
		{"/dev/zero", "not a regular file (it is a device)"},
		{dir, "not a regular file (it is a directory)"},
		{huge, "more than the 4 MiB"},
	} {
		for _, v := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
			_, err := r.Resolve(context.Background(), "dev", map[string]string{"HOME": dir, v: tc.path})
			if !errors.Is(err, broker.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s=%s: %v; want a refusal naming the file and saying %q", v, tc.path, err, tc.want)
			}
		}
	}
}

func TestParseErrorsNameTheLineNotItsText(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
	for _, tc := range []struct {
		name, config, credentials string
		want                      string
	}{
		{"credentials", "[profile dev]\nregion = us-east-1\n", "[dev]\naws_access_key_id = AKIAEXAMPLE\n\n" + secret + "\n", "credentials line 4 is not `key = value`"},
		{"config", "# comment\n[profile dev]\n" + secret + "\n", "", "config line 3 is not `key = value`"},
		{"unclosed section", "[profile dev\nregion = us-east-1\n", "", "config line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := writeFiles(t, tc.config, tc.credentials)
			_, err := newResolver(t).Resolve(context.Background(), "dev", map[string]string{"HOME": home})
			if err == nil {
				t.Fatal("a broken file parsed")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "K7MDENG") {
				t.Fatalf("the error quotes the file: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "profile dev") {
				t.Fatalf("error %q; want it to say %q", err, tc.want)
			}
		})
	}
}

func TestCredentialProcessIsBounded(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755)
		return p
	}
	pidFile, escapedPidFile := filepath.Join(dir, "child.pid"), filepath.Join(dir, "escaped.pid")
	for _, tc := range []struct {
		name, body string
		timeout    time.Duration
		want       string
	}{
		// A process that hangs, with a child that would outlive it, and a
		// grandchild that left its process group, session and environment
		// (its parent exits at once).
		{"hangs", "sleep 300 & echo $! > " + pidFile + "\n" +
			"( env -i setsid sh -c 'echo $$ > " + escapedPidFile + "; exec sleep 300' </dev/null >/dev/null 2>&1 & )\nwait",
			2 * time.Second, "did not finish within 2s"},
		// A process that prints without end.
		{"floods", "yes AKIAEXAMPLEAKIAEXAMPLE", 10 * time.Second, "printed more than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &processProvider{command: script(tc.name, tc.body), profile: "dev", timeout: tc.timeout}
			start := time.Now()
			_, err := p.Retrieve(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if took := time.Since(start); took > tc.timeout+5*time.Second {
				t.Fatalf("Retrieve returned after %s", took)
			}
			if tc.name != "hangs" {
				return
			}
			b, _ := os.ReadFile(pidFile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if pid == 0 {
				t.Fatal("no child pid")
			}
			// The child was killed with its group before Retrieve returned.
			if ok, why := testprobe.Killed(pid); !ok {
				t.Fatalf("the credential_process's child still runs and was not killed:\n%s", why)
			}
			// On Linux, so was what left the group (README, Platforms;
			// elsewhere it survives, and macOS has no setsid command).
			if runtime.GOOS != "linux" {
				return
			}
			b, _ = os.ReadFile(escapedPidFile)
			escaped, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if escaped == 0 {
				t.Fatal("no pid of the escaped grandchild")
			}
			t.Cleanup(func() { syscall.Kill(escaped, syscall.SIGKILL) })
			if ok, why := testprobe.Killed(escaped); !ok {
				t.Fatalf("the credential_process's grandchild that left its process group still runs:\n%s", why)
			}
		})
	}
}

// TestCredentialProcessLeftovers: what a credential_process leaves running
// in the background decides nothing once it exited, and is killed.
func TestCredentialProcessLeftovers(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleep.pid")
	const creds = `{"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "example-secret"}`
	for _, tc := range []struct {
		name, body string
		want       string // in the error; "" for success
	}{
		// The case of issue #17: a straggler holds stdout for 25 s.
		{"valid JSON, a child holds stdout", "(exec sleep 25) & echo $! > " + pidFile + "\necho '" + creds + "'\nexit 0", ""},
		{"half the JSON, a child holds stdout", "(exec sleep 25) & echo $! > " + pidFile + "\nprintf '" + creds[:30] + "'\nexit 0",
			"it exited with status 0 before its JSON was complete, and 500ms later a process it started still held its output open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(pidFile)
			script := filepath.Join(dir, "proc")
			os.WriteFile(script, []byte("#!/bin/sh\n"+tc.body+"\n"), 0o755)
			p := &processProvider{command: script, profile: "dev", timeout: time.Minute}
			start := time.Now()
			c, err := p.Retrieve(context.Background())
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Retrieve took %s: it waited for the child", took)
			}
			switch {
			case tc.want == "" && (err != nil || c.AccessKeyID != "AKIAEXAMPLE"):
				t.Fatalf("Retrieve = %+v, %v; want the credentials", c.AccessKeyID, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), "profile dev")):
				t.Fatalf("err = %v, want one line that says %q", err, tc.want)
			}
			b, _ := os.ReadFile(pidFile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if pid == 0 {
				t.Fatal("no child pid")
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			if ok, why := testprobe.Killed(pid); !ok {
				t.Fatalf("the child still runs after Retrieve returned:\n%s", why)
			}
		})
	}
}
