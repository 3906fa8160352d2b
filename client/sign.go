package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/browser"
)

// Process is what a helper takes from the process it runs in. The zero
// value means this process's own environment and streams.
type Process struct {
	// Getenv and Lookup read the environment; nil means os.Getenv and
	// os.LookupEnv.
	Getenv func(string) string
	Lookup func(string) (string, bool)
	// Stdout and Stderr are the streams; nil means os.Stdout and
	// os.Stderr.
	Stdout, Stderr io.Writer
}

// CheckAndSetDefaults fills in this process's own environment and streams.
func (p *Process) CheckAndSetDefaults() error {
	if p.Getenv == nil {
		p.Getenv = os.Getenv
	}
	if p.Lookup == nil {
		p.Lookup = os.LookupEnv
	}
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	return nil
}

// SignOptions is one signing request of a helper.
type SignOptions struct {
	// Request is what to sign. Sign sets its Env from the process's
	// environment (broker.Environ).
	Request broker.SignRequest
	// Process is where the environment comes from, and Stderr gets the
	// warnings and what MFA prompt programs print.
	Process Process
	// Note gets the one line saying that the daemon was not used; nil
	// means Process.Stderr.
	Note io.Writer
	// Broker answers the request; nil means an Auto for the environment's
	// socket (NewAuto), closed before Sign returns.
	Broker broker.Broker
}

// Sign is the request path both helpers share: it asks o.Broker (by
// default the daemon, started if need be, else a one-shot) for a signed
// password within wire.SignTimeout, with the variables of the caller's
// environment a request carries, asks a person for an MFA code when one is
// needed (Prompter, SignWithMFA), shows an IAM Identity Center sign-in
// when one is needed and waits for it (SignInUI, SignWithSSO), and prints
// the answer's warnings on Process.Stderr.
func Sign(ctx context.Context, o SignOptions) (*broker.SignedURL, error) {
	b, done := o.broker()
	defer done()
	s, err := request(ctx, o, b.SignURL)
	if err != nil {
		return nil, err
	}
	o.warn(s.Warnings)
	return s, nil
}

// ErrNoTransport is wrapped by OpenTransport's error when no daemon can
// carry git's traffic: none answers (the one-shot cannot), or it runs no
// transport. The caller then takes Sign's path, with the same Broker.
var ErrNoTransport = errors.New("no git transport")

// OpenTransport is Sign's path for the daemon's git transport: it asks
// o.Broker (which must be a broker.Transporter, such as an Auto; a nil one
// is an error wrapping ErrNoTransport, since the capability must outlive
// this call) for a capability for the repository, with git's settings for
// its https URL (gitConfig, gitEnv), within wire.SignTimeout (the capability
// then lasts until it is released), with the same MFA prompt, and prints
// the answer's warnings.
func OpenTransport(ctx context.Context, o SignOptions, gitConfig []broker.ConfigEntry, gitEnv map[string]string) (*broker.Capability, error) {
	t, ok := o.Broker.(broker.Transporter)
	if !ok {
		return nil, ErrNoTransport
	}
	_ = o.Process.CheckAndSetDefaults() // it never fails
	c, err := request(ctx, o, func(ctx context.Context, r *broker.SignRequest) (*broker.Capability, error) {
		return t.OpenTransport(ctx, &broker.TransportRequest{SignRequest: *r, GitConfig: gitConfig, GitEnv: gitEnv})
	})
	if err != nil {
		return nil, err
	}
	o.warn(c.Warnings)
	return c, nil
}

// broker returns o.Broker, or an Auto for the environment's socket, and
// what to call when done with it.
func (o *SignOptions) broker() (broker.Broker, func()) {
	_ = o.Process.CheckAndSetDefaults() // it never fails
	if o.Broker != nil {
		return o.Broker, func() {}
	}
	note := o.Note
	if note == nil {
		note = o.Process.Stderr
	}
	auto := NewAuto(o.Process.Getenv, note)
	return auto, func() { auto.Close() }
}

// request makes o's request with call, each call within wire.SignTimeout: the
// variables of the caller's environment a request carries, an MFA prompt
// when one is needed, and an IAM Identity Center sign-in shown and waited
// for when one is needed.
func request[T any](ctx context.Context, o SignOptions, call func(context.Context, *broker.SignRequest) (T, error)) (T, error) {
	req := o.Request
	req.Env = broker.Environ(o.Process.Lookup)
	ui := &SignInUI{Stderr: o.Process.Stderr, Browser: browser.Here(o.Process.Getenv)}
	return withSSO(ctx, &req, &Prompter{Getenv: o.Process.Getenv, Stderr: o.Process.Stderr}, ui, call)
}

// warn prints an answer's warnings.
func (o *SignOptions) warn(warnings []string) {
	for _, w := range warnings {
		fmt.Fprintln(o.Process.Stderr, w)
	}
}
