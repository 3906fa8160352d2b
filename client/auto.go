package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/shell"
	"github.com/codecommitd/codecommitd/internal/sibling"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// DefaultStartTimeout is how long the client waits for an autostarted
// daemon to listen, or for the one another process started: a daemon takes
// its instance lock, opens its cache (a keyring may be slow to answer) and
// only then listens.
const DefaultStartTimeout = 5 * time.Second

// Auto is a broker.Broker for the helpers: it asks the daemon on Socket;
// when nobody answers it starts `codecommitd run` detached and asks again;
// when that fails too it resolves the request through `codecommitd oneshot`
// in a child process, with a one-line note on Stderr. A daemon that holds
// the socket but does not answer (a *StuckError: stopped or stuck) gets no
// second daemon beside it: the request goes to the child at once. A git
// operation never fails just because the daemon is down. An Auto serves
// one process's requests one after another; it is not for concurrent use.
type Auto struct {
	// Socket is the daemon's socket path.
	Socket string
	// Autostart reports whether to start the daemon when it is down.
	Autostart bool
	// Daemon is the codecommitd binary; "" finds it next to this
	// executable, then on PATH.
	Daemon string
	// StartTimeout bounds the wait for an autostarted daemon.
	StartTimeout time.Duration
	// Stderr receives the fallback note; nil means os.Stderr.
	Stderr io.Writer

	// verify replaces the trust check, for tests.
	verify *verifier

	once   sync.Once
	client *Client
	err    error
	// gone is why no daemon can be used: it is not tried again in this
	// process (a second request, with an MFA code, would wait for it
	// again).
	gone *noDaemon
}

var _ broker.Broker = (*Auto)(nil)

func (a *Auto) dial() (*Client, error) {
	a.once.Do(func() { a.client, a.err = a.connect(a.Socket) })
	return a.client, a.err
}

// connect is Dial; tests give the client another trust check.
func (a *Auto) connect(socket string) (*Client, error) {
	if a.verify != nil {
		return dial(socket, *a.verify)
	}
	return Dial(socket)
}

// Close releases the connection.
func (a *Auto) Close() error {
	if a.client != nil {
		return a.client.Close()
	}
	return nil
}

func (a *Auto) stderr() io.Writer {
	if a.Stderr == nil {
		return os.Stderr
	}
	return a.Stderr
}

// SignURL implements broker.Broker with autostart and fallback.
func (a *Auto) SignURL(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	var s *broker.SignedURL
	err := a.ask(ctx, func(c *Client) (err error) {
		s, err = c.SignURL(ctx, req)
		return err
	})
	if nd, ok := errors.AsType[*noDaemon](err); ok {
		return a.fallback(ctx, req, nd.why, nd.also)
	}
	return s, err
}

var _ broker.Transporter = (*Auto)(nil)

// OpenTransport implements broker.Transporter with autostart; without a
// daemon (the one-shot cannot carry git's traffic) it fails with an error
// wrapping ErrNoTransport, and a SignURL that follows resolves in-process
// at once, with the note saying why.
func (a *Auto) OpenTransport(ctx context.Context, req *broker.TransportRequest) (*broker.Capability, error) {
	var c *broker.Capability
	err := a.ask(ctx, func(cl *Client) (err error) {
		c, err = cl.OpenTransport(ctx, req)
		return err
	})
	if nd, ok := errors.AsType[*noDaemon](err); ok {
		return nil, fmt.Errorf("%w: %w", ErrNoTransport, nd)
	}
	return c, err
}

// noDaemon is why no daemon can be used (why, and what was tried: also).
type noDaemon struct {
	why  error
	also string
}

func (e *noDaemon) Error() string { return e.why.Error() }
func (e *noDaemon) Unwrap() error { return e.why }

// ask makes a call to the daemon, starting it when none answers. When no
// daemon can be used it returns a *noDaemon, and so at once for every
// later call.
func (a *Auto) ask(ctx context.Context, rpc func(*Client) error) error {
	if a.gone != nil {
		return a.gone
	}
	err := a.try(ctx, rpc)
	if nd, ok := errors.AsType[*noDaemon](err); ok {
		a.gone = nd
	}
	return err
}

func (a *Auto) try(ctx context.Context, rpc func(*Client) error) error {
	c, err := a.dial()
	if err != nil {
		return &noDaemon{err, ""}
	}
	err = rpc(c)
	var stuck *StuckError
	switch {
	case !errors.Is(err, broker.ErrUnavailable):
		return err
	case errors.Is(err, broker.ErrUntrustedDaemon), errors.Is(err, errBadSocket):
		// Whatever listens there is not ours, or nothing can: never
		// start one beside it, never speak to it again.
		return &noDaemon{err, ""}
	case errors.As(err, &stuck):
		// Ours, but stopped: a second daemon could take neither its
		// socket nor its lock.
		return &noDaemon{err, ""}
	case !a.Autostart:
		return &noDaemon{err, envvar.Autostart + "=0 keeps it from being started"}
	}
	if serr := a.start(ctx); serr != nil {
		return &noDaemon{err, "starting it failed: " + clean.Line(serr.Error(), 200)}
	}
	// The first connection failed and is backing off; use a fresh one.
	c.Close()
	if c, err = a.connect(a.Socket); err != nil {
		return &noDaemon{err, ""}
	}
	a.client = c
	switch err = rpc(c); {
	case errors.As(err, &stuck):
		return &noDaemon{err, ""}
	case errors.Is(err, broker.ErrUnavailable):
		return &noDaemon{err, "it was started but does not answer"}
	}
	return err
}

// fallback resolves req in-process after saying, in one line, why the
// daemon was not used (why, and what was tried: also).
func (a *Auto) fallback(ctx context.Context, req *broker.SignRequest, why error, also string) (*broker.SignedURL, error) {
	if req.MFAPromptFailed {
		return nil, why // only a daemon holds prompts to release
	}
	note := clean.Line(broker.Say(why), 420)
	if also != "" {
		note += "; " + also
	}
	fmt.Fprintf(a.stderr(), "%s; resolving in this process\n", note)
	return a.oneshot(ctx, req)
}

// Status implements broker.Broker; it never starts a daemon.
func (a *Auto) Status(ctx context.Context) (*broker.Status, error) {
	c, err := a.dial()
	if err != nil {
		return nil, err
	}
	return c.Status(ctx)
}

// Forget implements broker.Broker; it never starts a daemon.
func (a *Auto) Forget(ctx context.Context, profile string, all bool) (int, error) {
	c, err := a.dial()
	if err != nil {
		return 0, err
	}
	return c.Forget(ctx, profile, all)
}

// SSOSessionChanged implements broker.Broker; it never starts a daemon
// (one that is not running reads the file when it needs it).
func (a *Auto) SSOSessionChanged(ctx context.Context, s broker.SSOSession) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	return c.SSOSessionChanged(ctx, s)
}

// NewAuto returns the Auto every helper uses: the socket and whether to
// autostart come from the environment getenv reads; notes go to stderr.
func NewAuto(getenv func(string) string, stderr io.Writer) *Auto {
	return &Auto{
		Socket:    sockpath.Default(getenv),
		Autostart: getenv(envvar.Autostart) != "0",
		Stderr:    stderr,
	}
}

// FindDaemon returns the codecommitd binary: $CODECOMMITD_BIN, else the one
// next to this executable, else the one on PATH.
func FindDaemon() (string, error) {
	if p := os.Getenv(envvar.Bin); p != "" {
		return p, nil
	}
	p, err := sibling.Find("codecommitd")
	if err != nil {
		return "", fmt.Errorf("%w, or set %s", err, envvar.Bin)
	}
	return p, nil
}

func (a *Auto) daemon() (string, error) {
	if a.Daemon != "" {
		return a.Daemon, nil
	}
	return FindDaemon()
}

// Start runs `codecommitd run --autostarted` detached, as the helpers do
// when no daemon answers, and waits until it listens (or says why it does
// not), at most StartTimeout.
func (a *Auto) Start(ctx context.Context) error { return a.start(ctx) }

func (a *Auto) start(ctx context.Context) error {
	bin, err := a.daemon()
	if err != nil {
		return err
	}
	args := []string{"run", "--socket", a.Socket, "--autostarted"}
	if v := os.Getenv(envvar.IdleExit); v != "" {
		if _, err := time.ParseDuration(v); err != nil {
			return fmt.Errorf("%s=%s is not a duration (such as 30m or 8h; 0 for never)", envvar.IdleExit, clean.Quote(v, 40))
		}
		args = append(args, "--idle-exit", v)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = daemonEnviron(os.Environ())
	cmd.Dir = daemonDir()
	detach(cmd)
	timeout := a.StartTimeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	return startAndWait(cmd, a.Socket, timeout)
}

// waitListening polls until something accepts connections on socket, or
// the deadline passes.
func waitListening(socket string, deadline time.Time) error {
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		c, err := net.DialTimeout("unix", socket, time.Until(deadline))
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("the daemon another process started is not listening: %w", err)
		}
		time.Sleep(delay)
	}
}

// oneshot resolves req in a `codecommitd oneshot` child process. The child
// always writes a result (package wire): a signed URL, a broker error, or
// its own failure; without one that decodes, it crashed.
func (a *Auto) oneshot(ctx context.Context, req *broker.SignRequest) (*broker.SignedURL, error) {
	bin, err := a.daemon()
	if err != nil {
		return nil, &broker.Error{Kind: broker.ErrUnavailable, Msg: err.Error()}
	}
	in, err := wire.EncodeOneshotRequest(req)
	if err != nil {
		return nil, err
	}
	out := &shell.LimitedBuffer{Max: 1 << 20}
	// Its stderr is kept, not shown: git users see one line, never a
	// runtime's crash report.
	stderr := &shell.LimitedBuffer{Max: 64 << 10}
	cmd := exec.CommandContext(ctx, bin, "oneshot")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), out, stderr
	runErr := cmd.Run()
	s, err := wire.DecodeOneshotResult(out.Bytes())
	var failed *wire.OneshotFailure
	switch {
	case out.Overflowed() || errors.Is(err, wire.ErrBadOneshotResult):
		return nil, oneshotFailure(ctx, bin, runErr, string(stderr.Bytes()))
	case errors.As(err, &failed):
		return nil, &broker.Error{Kind: broker.ErrUnavailable,
			Msg: fmt.Sprintf("%s could not resolve the request in-process (%s): %s", bin, runStatus(runErr), failed.Msg)}
	}
	return s, err
}

// oneshotFailure says in one line why `codecommitd oneshot` gave no
// result: it could not be run, it was stopped, or it crashed (the first
// line of its stderr, redacted, says how).
func oneshotFailure(ctx context.Context, bin string, runErr error, stderr string) error {
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return &broker.Error{Kind: broker.ErrUnavailable, Err: ctx.Err(),
			Msg: fmt.Sprintf("%s was stopped before it resolved the request in-process (%v)", bin, ctx.Err())}
	case runErr != nil && !errors.As(runErr, &exit):
		return &broker.Error{Kind: broker.ErrUnavailable, Err: runErr,
			Msg: fmt.Sprintf("%s could not resolve the request in-process (%s)", bin, runStatus(runErr))}
	}
	how := runStatus(runErr)
	first, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	if first = clean.Line(clean.Redact(first), 200); first != "" {
		how += ": " + first
	}
	return &broker.Error{Kind: broker.ErrUnavailable,
		Msg: fmt.Sprintf("%s crashed while resolving the request in-process (%s); this is a bug: run `codecommitd run --log-level debug` in a terminal and report what it says", bin, how)}
}

// runStatus says briefly how a program's run ended.
func runStatus(runErr error) string {
	var exit *exec.ExitError
	switch {
	case runErr == nil:
		return "exit status 0"
	case errors.As(runErr, &exit):
		return exit.String()
	}
	return clean.Line(startCause(runErr).Error(), 120)
}

// startCause is why a program could not be started, without os/exec's
// "fork/exec <path>:" prefix.
func startCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
