package shell

import (
	"cmp"
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Bounds of one run.
const (
	// DefaultGrace is how long Run goes on reading a command's output
	// after the command exited with that output incomplete, while
	// something it started still holds it open.
	DefaultGrace = 500 * time.Millisecond
	// drainBound is how long Run waits, once everything the command
	// started was killed, for its output to reach the end. That is at once
	// unless a process escaped the kill (see the package doc).
	drainBound = time.Second
)

// Cmd is a command line to run. Its stdin is empty.
type Cmd struct {
	// Line runs with sh -c (cmd.exe /C on Windows).
	Line string
	// Env is its environment; nil means this process's.
	Env []string
	// Stdout and Stderr keep its output (nil: none is kept). They are
	// safe to read while a process that escaped the kill still writes.
	Stdout, Stderr *LimitedBuffer
	// Echo, if set, also gets what the command writes to stderr, as it
	// comes (an mfa_process asking for a touch of the key), until Run
	// returns; nothing after.
	Echo io.Writer
	// Complete, if set, reports whether what Stdout kept is the command's
	// whole answer. Once the command has exited, Run returns as soon as it does,
	// without waiting for processes the command started that still hold
	// its stdout open. Nil: stdout is complete when it reaches its end.
	Complete func(stdout []byte) bool
	// Grace is how long Run reads stdout after the command exited with
	// status 0 and an incomplete answer (zero: DefaultGrace).
	Grace time.Duration
}

// Result says how a run ended. Whatever it says, what the command started
// was killed before Run returned (as far as the package doc says).
type Result struct {
	// Err is nil when the command ended by itself; ctx's error when ctx
	// ended first; else why it could not be run (errors.Is
	// exec.ErrNotFound: there is no shell).
	Err error
	// ExitCode is the shell's exit status, -1 when a signal ended it.
	ExitCode int
	// Signal is the signal that ended the shell, if one did.
	Signal syscall.Signal
	// HeldOpen reports whether the command exited with status 0 but its
	// stdout was still incomplete, and held open by something it started,
	// Grace later, when reading stopped.
	HeldOpen bool
}

// exit is how the shell ended, as a tree reports it.
type exit struct {
	err    error // it could not be started, or how it ended is unknown
	code   int
	signal syscall.Signal
}

func (x exit) success() bool { return x.err == nil && x.code == 0 && x.signal == 0 }

// A tree is a started shell and everything it starts.
type tree interface {
	// exited is closed once the shell has ended; status says how.
	exited() <-chan struct{}
	status() exit
	// end kills what is left of the tree and returns once that is gone
	// (or was given up on), and the shell has ended.
	end()
}

// starter starts the program at path with argv, env and the given output,
// stdin empty.
type starter func(path string, argv, env []string, stdout, stderr *os.File) (tree, error)

// Run runs c and returns how it ended, once everything it started is gone.
// When ctx ends first, everything is killed at once.
func Run(ctx context.Context, c Cmd) Result { return run(ctx, c, startTree) }

func run(ctx context.Context, c Cmd, start starter) Result {
	if c.Stdout == nil {
		c.Stdout = &LimitedBuffer{}
	}
	if c.Stderr == nil {
		c.Stderr = &LimitedBuffer{}
	}
	complete := func() bool { return c.Complete != nil && c.Complete(c.Stdout.Bytes()) }
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{Err: err}
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return Result{Err: err}
	}
	defer errR.Close()
	name, args := argv(c.Line)
	path, err := exec.LookPath(name)
	if err != nil {
		outW.Close()
		errW.Close()
		return Result{Err: err}
	}
	t, err := start(path, append([]string{name}, args...), env, outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		return Result{Err: err}
	}
	progress := make(chan struct{}, 1)
	outEnd := copyOut(c.Stdout, outR, progress)
	var errOut io.Writer = c.Stderr
	if c.Echo != nil {
		echo := &gate{w: c.Echo}
		defer echo.close()
		errOut = io.MultiWriter(c.Stderr, echo)
	}
	errEnd := copyOut(errOut, errR, nil)

	var res Result
	exited, outEOF := t.exited(), outEnd
	var grace <-chan time.Time
wait:
	for {
		select {
		case <-ctx.Done():
			res.Err = ctx.Err()
			break wait
		case <-exited:
			exited = nil
			if !t.status().success() || outEOF == nil || complete() {
				break wait
			}
			timer := time.NewTimer(cmp.Or(c.Grace, DefaultGrace))
			defer timer.Stop()
			grace = timer.C
		case <-progress:
			if exited == nil && complete() {
				break wait
			}
		case <-outEOF:
			outEOF = nil
			if exited == nil {
				break wait
			}
		case <-grace:
			res.HeldOpen = true
			break wait
		}
	}
	t.end()
	x := t.status()
	res.ExitCode, res.Signal = x.code, x.signal
	if res.Err == nil {
		res.Err = x.err
	}
	if res.Err != nil || !x.success() || !complete() {
		// What it wrote before it ended is still in the pipes, and now
		// that nothing holds them open they end. An answer that is
		// complete needs no more.
		timer := time.NewTimer(drainBound)
		defer timer.Stop()
		for _, end := range []<-chan struct{}{outEnd, errEnd} {
			select {
			case <-end:
				continue
			case <-timer.C:
			}
			break
		}
	}
	return res
}

// copyOut copies r to w until r ends (or is closed), signalling progress
// after each write, and closes the returned channel then.
func copyOut(w io.Writer, r io.Reader, progress chan<- struct{}) <-chan struct{} {
	end := make(chan struct{})
	go func() {
		defer close(end)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n]) // it never fails
				if progress != nil {
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return end
}

// gate passes writes on to w until it is closed, and drops them after, so
// what a process that escaped the kill writes reaches no one who has moved
// on. Its writes never fail.
type gate struct {
	mu sync.Mutex
	w  io.Writer
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != nil {
		_, _ = g.w.Write(p) // the command is not disturbed
	}
	return len(p), nil
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.w = nil
}
