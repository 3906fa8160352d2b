//go:build unix

package client

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// signalWriter keeps what is written and closes said at the first write.
type signalWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	once sync.Once
	said chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.said) })
	return w.b.Write(p)
}

// TestMFAProcessIsUsedOnceItHasPrinted: a profile's mfa_process that
// leaves a child holding its output gives its code at once (not when the
// child ends, nor at the prompt's timeout), and the child is killed.
func TestMFAProcessIsUsedOnceItHasPrinted(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	p := &Prompter{Getenv: func(string) string { return "" }, Stderr: &signalWriter{said: make(chan struct{})}, Timeout: 30 * time.Second}
	start := time.Now()
	code, err := p.Code(context.Background(), &broker.Error{Profile: "dev", MFASerial: "arn:aws:iam::1:mfa/me",
		MFAProcess: "echo 123456; sleep 60 & echo $! > " + pidfile})
	if took := time.Since(start); err != nil || code != "123456" || took > 10*time.Second {
		t.Fatalf("Code = %q, %v after %s; want 123456 at once", code, err, took)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if ok, why := testprobe.Killed(pid); !ok {
		t.Errorf("the child the mfa_process left (pid %d) runs on: %s", pid, why)
	}
}

// TestMFAProcessStderrIsShownAsItComes: what an mfa_process says on
// stderr ("touch your key") reaches the user while it waits, not after.
func TestMFAProcessStderrIsShownAsItComes(t *testing.T) {
	touched := filepath.Join(t.TempDir(), "touched")
	w := &signalWriter{said: make(chan struct{})}
	go func() {
		<-w.said
		os.WriteFile(touched, nil, 0o600)
	}()
	p := &Prompter{Getenv: func(string) string { return "" }, Stderr: w, Timeout: 30 * time.Second}
	code, err := p.Code(context.Background(), &broker.Error{Profile: "dev", MFASerial: "arn:aws:iam::1:mfa/me",
		MFAProcess: "echo 'touch your key' >&2; while [ ! -e " + touched + " ]; do sleep 0.02; done; echo 654321"})
	if err != nil || code != "654321" {
		t.Fatalf("Code = %q, %v; want the code printed after the touch", code, err)
	}
	if got := w.b.String(); got != "touch your key\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestMFAProcessFailures(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		timeout    time.Duration
	}{
		{"echo nope >&2; exit 3", "mfa_process of profile dev failed: exit status 3", 0},
		{"kill -9 $$", "mfa_process of profile dev failed: it was ended by signal 9 (killed)", 0},
		{"echo two words", "mfa_process of profile dev printed more than one word; it must print only the MFA code", 0},
		{"sleep 60", "mfa_process of profile dev printed no code within 200ms, so it was stopped", 200 * time.Millisecond},
	} {
		p := &Prompter{Getenv: func(string) string { return "" }, Stderr: &signalWriter{said: make(chan struct{})}, Timeout: tc.timeout}
		_, err := p.Code(context.Background(), &broker.Error{Profile: "dev", MFAProcess: tc.line})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.want)
		}
	}
}
