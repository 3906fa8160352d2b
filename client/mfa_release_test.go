package client

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// TestAFailedPromptKeepsNoCapability: when the MFA prompt fails, the
// daemon is told (MFAPromptFailed); a capability it grants in that answer
// anyway (another process gave the code meanwhile) is released at once,
// not kept open for as long as this process runs.
func TestAFailedPromptKeepsNoCapability(t *testing.T) {
	released := false
	var told bool
	call := func(_ context.Context, r *broker.SignRequest) (*broker.Capability, error) {
		if r.MFAPromptFailed {
			told = true
			return &broker.Capability{URL: "http://127.0.0.1:1/v1/repos/r", Release: func() { released = true }}, nil
		}
		return nil, &broker.Error{Kind: broker.ErrMFARequired, Profile: "dev", MFASerial: "arn:aws:iam::1:mfa/dev"}
	}
	noTerminal := &Prompter{
		Getenv: func(k string) string { return map[string]string{"GIT_TERMINAL_PROMPT": "1"}[k] },
		TTY:    func() (io.ReadWriteCloser, error) { return nil, errors.New("no terminal") },
		Stderr: io.Discard,
	}
	req := &broker.SignRequest{Profile: "dev", Repository: "r", Prompt: broker.PromptAvailable}
	if _, err := withMFA(context.Background(), req, noTerminal, call); err == nil {
		t.Fatal("the prompt could not be shown, yet the request succeeded")
	}
	if !told || !released {
		t.Errorf("daemon told of the failed prompt: %v; the capability it granted released: %v (want both)", told, released)
	}
}
