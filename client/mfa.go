package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/shell"
)

// Prompter asks a person for an MFA code, never on git's stdin or stdout.
// In order it tries: the profile's mfa_process, $CODECOMMITD_ASKPASS,
// $GIT_ASKPASS, $SSH_ASKPASS, then the terminal.
type Prompter struct {
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// TTY opens the terminal; nil means the process's controlling terminal.
	TTY func() (io.ReadWriteCloser, error)
	// Stderr receives the stderr of the programs run; nil means os.Stderr.
	Stderr io.Writer
	// Timeout bounds one program run or terminal read; zero means 2 minutes.
	Timeout time.Duration
}

// ErrNoPrompt reports that no way to ask for a code was found.
var ErrNoPrompt = errors.New("no way to ask for an MFA code")

func (p *Prompter) getenv(k string) string {
	if p.Getenv == nil {
		return os.Getenv(k)
	}
	return p.Getenv(k)
}

// terminalAllowed reports whether the terminal may be used: git's
// GIT_TERMINAL_PROMPT=0 (set by IDEs for background fetches) forbids it.
func (p *Prompter) terminalAllowed() bool { return p.getenv("GIT_TERMINAL_PROMPT") != "0" }

// Availability says whether this prompter can ask a person: an askpass
// program is set, or a terminal may be used and opens. (A profile's
// mfa_process is the daemon's to know.)
func (p *Prompter) Availability() broker.Prompt {
	for _, v := range []string{envvar.Askpass, "GIT_ASKPASS", "SSH_ASKPASS"} {
		if p.getenv(v) != "" {
			return broker.PromptAvailable
		}
	}
	if !p.terminalAllowed() {
		return broker.PromptUnavailable
	}
	open := p.TTY
	if open == nil {
		open = openTTY
	}
	tty, err := open()
	if err != nil {
		return broker.PromptUnavailable
	}
	tty.Close()
	return broker.PromptAvailable
}

// Code asks for the code that e (an ErrMFARequired error) needs.
func (p *Prompter) Code(ctx context.Context, e *broker.Error) (string, error) {
	getenv := p.getenv
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	prompt := fmt.Sprintf("MFA code for %s (AWS profile %s): ", e.MFASerial, e.Profile)
	if e.MFAProcess != "" {
		return p.runProcess(ctx, e.MFAProcess, "mfa_process of profile "+e.Profile, timeout)
	}
	for _, v := range []string{envvar.Askpass, "GIT_ASKPASS", "SSH_ASKPASS"} {
		if prog := getenv(v); prog != "" {
			return p.run(ctx, exec.CommandContext(ctx, prog, prompt), v+"="+prog)
		}
	}
	open := p.TTY
	if open == nil {
		open = openTTY
	}
	var tty io.ReadWriteCloser
	err := errors.New("GIT_TERMINAL_PROMPT=0 forbids it")
	if p.terminalAllowed() {
		tty, err = open()
	}
	if err != nil {
		return "", fmt.Errorf("%w: MFA device %s (profile %s) needs a code, and there is no terminal to ask on (%w); set mfa_process in the profile, or %s to a program that prints the code",
			ErrNoPrompt, e.MFASerial, e.Profile, err, envvar.Askpass)
	}
	defer tty.Close()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		io.WriteString(tty, prompt)
		line, err := bufio.NewReader(tty).ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && r.line == "" {
			return "", fmt.Errorf("reading the MFA code from the terminal: %w", r.err)
		}
		return checkCode(r.line, "the terminal")
	case <-ctx.Done():
		return "", fmt.Errorf("no MFA code entered for %s within %s", e.MFASerial, timeout)
	}
}

func (p *Prompter) stderr() io.Writer {
	if p.Stderr == nil {
		return os.Stderr
	}
	return p.Stderr
}

func (p *Prompter) run(ctx context.Context, cmd *exec.Cmd, what string) (string, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = p.stderr()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed: %w", what, err)
	}
	return checkCode(out.String(), what)
}

// runProcess runs a profile's mfa_process as credential_process runs
// (shell.Run): its code is used once it has exited and printed it, however
// long what it started holds its output, and everything it started is
// killed. What it says on stderr is shown as it comes.
func (p *Prompter) runProcess(ctx context.Context, line, what string, timeout time.Duration) (string, error) {
	out := &shell.LimitedBuffer{Max: 4 << 10}
	res := shell.Run(ctx, shell.Cmd{Line: line, Stdout: out, Echo: p.stderr(),
		Complete: func(b []byte) bool { return bytes.IndexByte(b, '\n') >= 0 }})
	switch {
	case errors.Is(res.Err, context.DeadlineExceeded):
		return "", fmt.Errorf("%s printed no code within %s, so it was stopped", what, timeout)
	case res.Err != nil:
		return "", fmt.Errorf("%s could not be run: %w", what, res.Err)
	case res.Signal != 0:
		return "", fmt.Errorf("%s failed: it was ended by signal %d (%s)", what, int(res.Signal), res.Signal)
	case res.ExitCode != 0:
		return "", fmt.Errorf("%s failed: exit status %d", what, res.ExitCode)
	}
	return checkCode(string(out.Bytes()), what)
}

func checkCode(s, from string) (string, error) {
	code := strings.TrimSpace(s)
	if code == "" {
		return "", fmt.Errorf("no MFA code from %s", from)
	}
	if strings.ContainsAny(code, " \t\r\n") {
		return "", fmt.Errorf("%s printed more than one word; it must print only the MFA code", from)
	}
	return code, nil
}

// SignWithMFA calls b.SignURL and, when the broker answers that an MFA code
// is needed, asks prompter for it and tries once more with the code. A
// wrong code is reported, not retried. The request says whether this
// process can prompt, so a daemon never waits on one that cannot; when the
// prompt fails, the daemon is told, so another git process may ask.
func SignWithMFA(ctx context.Context, b broker.Broker, req *broker.SignRequest, prompter *Prompter) (*broker.SignedURL, error) {
	return withMFA(ctx, req, prompter, b.SignURL)
}

// withMFA is SignWithMFA for any call that resolves a request as SignURL
// does (OpenTransport too).
func withMFA[T any](ctx context.Context, req *broker.SignRequest, prompter *Prompter, call func(context.Context, *broker.SignRequest) (T, error)) (T, error) {
	if prompter != nil && req.Prompt == broker.PromptUnknown {
		r := *req
		r.Prompt = prompter.Availability()
		req = &r
	}
	s, err := call(ctx, req)
	var be *broker.Error
	if prompter == nil || !errors.Is(err, broker.ErrMFARequired) || !errors.As(err, &be) || be.CannotPrompt {
		return s, err
	}
	var none T
	code, err := prompter.Code(ctx, be)
	if err != nil {
		release := *req
		release.MFAPromptFailed = true
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		// Only tells the daemon; the prompt's error is the one to show.
		// Should the daemon answer with a grant all the same (another
		// process gave the code meanwhile), it is not this caller's to
		// keep: a capability would stay open as long as this process.
		if v, rerr := call(rctx, &release); rerr == nil {
			if c, ok := any(v).(*broker.Capability); ok && c != nil && c.Release != nil {
				c.Release()
			}
		}
		return none, err
	}
	again := *req
	again.MFACode = code
	return call(ctx, &again)
}
