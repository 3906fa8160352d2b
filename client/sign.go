package client

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/wire"
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
// needed (Prompter, SignWithMFA), and prints the answer's warnings on
// Process.Stderr.
func Sign(ctx context.Context, o SignOptions) (*broker.SignedURL, error) {
	_ = o.Process.CheckAndSetDefaults() // it never fails
	b := o.Broker
	if b == nil {
		note := o.Note
		if note == nil {
			note = o.Process.Stderr
		}
		auto := NewAuto(o.Process.Getenv, note)
		defer auto.Close()
		b = auto
	}
	ctx, cancel := context.WithTimeout(ctx, wire.SignTimeout)
	defer cancel()
	req := o.Request
	req.Env = broker.Environ(o.Process.Lookup)
	s, err := SignWithMFA(ctx, b, &req, &Prompter{Getenv: o.Process.Getenv, Stderr: o.Process.Stderr})
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(o.Process.Stderr, w)
	}
	return s, nil
}
