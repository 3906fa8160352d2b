//go:build unix

package client

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// mfaBroker wants an MFA code, then signs; it records the requests.
type mfaBroker struct {
	broker.Broker
	reqs      []broker.SignRequest
	deadlines []time.Duration
}

func (b *mfaBroker) SignURL(ctx context.Context, r *broker.SignRequest) (*broker.SignedURL, error) {
	b.reqs = append(b.reqs, *r)
	d, _ := ctx.Deadline()
	b.deadlines = append(b.deadlines, time.Until(d))
	if r.MFACode == "" {
		return nil, &broker.Error{Kind: broker.ErrMFARequired, Profile: "dev", MFASerial: "arn:aws:iam::1:mfa/me", Msg: "MFA code required"}
	}
	return &broker.SignedURL{URL: "https://h/v1/repos/r", Warnings: []string{"region xx-east-9 is not one this version knows"}}, nil
}

// TestSignIsTheOneRequestPath: Sign sends the request variables of the
// environment (file paths made absolute) and no others, within
// wire.SignTimeout, asks for the MFA code the broker wants, and prints the
// answer's warnings.
func TestSignIsTheOneRequestPath(t *testing.T) {
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	os.WriteFile(askpass, []byte("#!/bin/sh\necho 123456\n"), 0o755)
	env := map[string]string{"AWS_PROFILE": "dev", "AWS_CONFIG_FILE": "conf/aws", "GIT_DIR": "/repo/.git",
		"AWS_SECRET_ACCESS_KEY": "s", envvar.Askpass: askpass}
	var stderr bytes.Buffer
	b := &mfaBroker{}
	s, err := Sign(context.Background(), SignOptions{Broker: b, Request: broker.SignRequest{Repository: "r", Client: "test"},
		Process: Process{Stderr: &stderr, Getenv: func(k string) string { return env[k] },
			Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}})
	if err != nil || s.URL != "https://h/v1/repos/r" {
		t.Fatalf("Sign = %v, %v", s, err)
	}
	wd, _ := os.Getwd()
	wantEnv := map[string]string{"AWS_PROFILE": "dev", "AWS_CONFIG_FILE": filepath.Join(wd, "conf/aws"), "AWS_SECRET_ACCESS_KEY": "s"}
	if len(b.reqs) != 2 || b.reqs[1].MFACode != "123456" || b.reqs[0].Client != "test" || b.reqs[0].Prompt != broker.PromptAvailable {
		t.Fatalf("requests = %+v, want one without and one with the code", b.reqs)
	}
	for i, r := range b.reqs {
		if !reflect.DeepEqual(r.Env, wantEnv) {
			t.Errorf("request %d env = %v, want %v", i, r.Env, wantEnv)
		}
		if d := b.deadlines[i]; d <= wire.SignTimeout-time.Minute || d > wire.SignTimeout {
			t.Errorf("request %d has %s left, want about %s", i, d, wire.SignTimeout)
		}
	}
	if stderr.String() != "region xx-east-9 is not one this version knows\n" {
		t.Errorf("stderr = %q, want the warning", stderr.String())
	}
}

// TestSignNotesTheFallbackWhereItIsTold: without a broker Sign asks the
// daemon on the environment's socket, and its note goes to Note.
func TestSignNotesTheFallbackWhereItIsTold(t *testing.T) {
	dir := testprobe.ShortDir(t) // the socket's path must fit, whatever TMPDIR is
	bin, _ := recordingDaemon(t)
	env := map[string]string{envvar.Socket: filepath.Join(dir, "none", "d.sock"), envvar.Autostart: "0", envvar.Bin: bin}
	for k, v := range env {
		t.Setenv(k, v) // FindDaemon reads CODECOMMITD_BIN from the process
	}
	var stderr, note bytes.Buffer
	Sign(context.Background(), SignOptions{Note: &note, Request: broker.SignRequest{Repository: "r"},
		Process: Process{Stderr: &stderr, Getenv: func(k string) string { return env[k] }}})
	if !strings.Contains(note.String(), "no daemon answers on "+env[envvar.Socket]) || !strings.Contains(note.String(), "resolving in this process") {
		t.Errorf("note = %q, want the fallback note for the environment's socket", note.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing: the note goes to Note", stderr.String())
	}
}
