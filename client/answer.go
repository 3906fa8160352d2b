package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// A daemon that runs answers at once, even while a request waits on AWS
// (a slow STS, an MFA prompt another git process holds): its gRPC server
// sends the HTTP/2 settings as soon as it accepts a connection, before it
// reads anything, and its health service answers on any connection while
// other requests wait. A stopped one (SIGSTOP, a debugger, a laptop lid, a
// frozen VM) answers nothing, although the kernel still accepts
// connections and bytes for it. So the client waits for those two answers
// only, and never cuts a request for being slow.
const (
	// AnswerTimeout bounds the wait for the daemon's first bytes on a new
	// connection, and for its answer to a health check.
	AnswerTimeout = 2 * time.Second
	// ProbeInterval is how long a request waits before the client checks,
	// on the same connection, that the daemon still runs, and again each
	// interval until the request ends. A daemon that stops during a
	// request is known within ProbeInterval + AnswerTimeout.
	ProbeInterval = time.Second
)

// StuckError reports a daemon that holds the socket but does not answer:
// stopped or stuck. It wraps broker.ErrUnavailable and
// context.DeadlineExceeded. Starting another daemon beside it is pointless
// (its socket and lock are taken): the helpers resolve in-process.
type StuckError struct {
	Socket string
	// PID is the process the kernel says listens on Socket; 0 where it
	// did not say.
	PID int
}

func (e *StuckError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("the daemon on %s does not answer (stopped or stuck)", e.Socket)
	}
	return fmt.Sprintf("the daemon on %s (pid %d) does not answer (stopped or stuck)", e.Socket, e.PID)
}

// Fix says what a person can do about it.
func (e *StuckError) Fix() string {
	if e.PID <= 0 {
		return "find it with ps, and stop it with kill"
	}
	return fmt.Sprintf("kill -CONT %d if you stopped it, else codecommitd restart (or kill %d)", e.PID, e.PID)
}

// Unwrap returns the kinds callers test with errors.Is.
func (e *StuckError) Unwrap() []error {
	return []error{broker.ErrUnavailable, context.DeadlineExceeded}
}

// timing is how long the client waits for the daemon's answers; tests
// shorten it.
type timing struct {
	answer, probe time.Duration
}

var defaultTiming = timing{answer: AnswerTimeout, probe: ProbeInterval}

func (c *Client) stuck() *StuckError { return &StuckError{Socket: c.socket, PID: int(c.pid.Load())} }

// noAnswer records that a connection could not be made because the daemon
// does not answer, and returns the error the dialer gives gRPC.
func (c *Client) noAnswer() error {
	err := error(c.stuck())
	c.dialErr.Store(&err)
	return err
}

// awaitSettings waits, at most c.timing.answer, for the daemon's first
// bytes on conn, and returns conn with them put back. A daemon that sends
// none is stopped or stuck.
func (c *Client) awaitSettings(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if err := conn.SetReadDeadline(time.Now().Add(c.timing.answer)); err != nil {
		conn.Close()
		return nil, c.noDaemon(err)
	}
	// The dial giving up (the client closing) ends the read at once.
	giveUp := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if !giveUp() || ctx.Err() != nil {
		conn.Close()
		return nil, ctx.Err()
	}
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		conn.Close()
		return nil, c.noAnswer()
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, c.noDaemon(err)
	}
	return &answeredConn{Conn: conn, first: buf[:n], err: err}, nil
}

// answeredConn is a connection whose first bytes, or the error that came
// instead, were read already.
type answeredConn struct {
	net.Conn
	first []byte
	err   error
}

func (c *answeredConn) Read(b []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(b, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	if err := c.err; err != nil {
		c.err = nil
		return 0, err
	}
	return c.Conn.Read(b)
}

// errNoAnswer is why a request was cut: its daemon stopped answering.
var errNoAnswer = errors.New("the daemon does not answer")

// call runs rpc and, while it waits, checks every c.timing.probe that the
// daemon still answers a health check on the same connection. When one
// goes unanswered the request is cut, and the error is a *StuckError; a
// request the daemon is working on runs as long as its context allows.
func (c *Client) call(ctx context.Context, rpc func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		c.probe(ctx, cancel)
	}()
	err := rpc(ctx)
	cancel(nil)
	<-probed
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), errNoAnswer):
		return c.stuck()
	}
	return c.fromRPC(err)
}

// probe asks the daemon's health service every c.timing.probe until ctx
// ends, and cancels ctx with errNoAnswer when a check sent on a connection
// gets no answer within c.timing.answer. Any answer, even an error, means
// the daemon runs; a check that waited for a connection says nothing of
// it (the dialer has its own verdict).
func (c *Client) probe(ctx context.Context, cut context.CancelCauseFunc) {
	t := time.NewTimer(c.timing.probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.timing.answer)
		var sent peer.Peer
		_, err := c.health.Check(pctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&sent))
		cancel()
		if status.Code(err) == codes.DeadlineExceeded && sent.Addr != nil && ctx.Err() == nil {
			cut(errNoAnswer)
			return
		}
		t.Reset(c.timing.probe)
	}
}
