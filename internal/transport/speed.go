package transport

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// speedWatch aborts an upstream exchange slower than http.lowSpeedLimit
// for http.lowSpeedTime, as curl does for git: it counts the bytes of the
// request and response bodies, and once a second (or each lowSpeedTime,
// if shorter) compares the rate since the last look with the limit; below
// it for lowSpeedTime in a row, the exchange is cancelled. A nil
// speedWatch watches nothing.
type speedWatch struct {
	limit  int64
	window time.Duration
	g      *grant
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	bytes  atomic.Int64
	done   chan struct{}
	slow   atomic.Pointer[tooSlow]
	ended  atomic.Bool
}

// watchSpeed returns req watched for g's low-speed limit, if it has one.
func watchSpeed(req *http.Request, g *grant, log *slog.Logger) (*http.Request, *speedWatch) {
	if g.up.lowSpeedLimit <= 0 || g.up.lowSpeedTime <= 0 {
		return req, nil
	}
	w := &speedWatch{limit: g.up.lowSpeedLimit, window: g.up.lowSpeedTime, g: g, log: log, done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancelCause(req.Context())
	req = req.WithContext(w.ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &countingBody{ReadCloser: req.Body, w: w}
	}
	go w.run()
	return req, w
}

func (w *speedWatch) run() {
	step := min(time.Second, w.window)
	tick := time.NewTicker(step)
	defer tick.Stop()
	var last int64
	var below time.Duration
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		n := w.bytes.Load()
		if float64(n-last)/step.Seconds() >= float64(w.limit) {
			below = 0
		} else if below += step; below >= w.window {
			slow := &tooSlow{limit: fmt.Sprintf("%d bytes/s", w.limit), time: w.window.String()}
			w.slow.Store(slow)
			w.log.WarnContext(w.ctx, fmt.Sprintf("the transfer for repository %s was slower than http.lowSpeedLimit (%s) for http.lowSpeedTime (%s); stopped it, as git would",
				w.g.Repository, slow.limit, slow.time), "repository", w.g.Repository, "profile", w.g.Profile, "host", w.g.Host, "bytes", n)
			w.cancel(slow)
			return
		}
		last = n
	}
}

// response watches resp's body too, until it is closed.
func (w *speedWatch) response(resp *http.Response) {
	if w == nil {
		return
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, w: w, last: true}
}

// stop ends the watch.
func (w *speedWatch) stop() {
	if w != nil && w.ended.CompareAndSwap(false, true) {
		close(w.done)
		w.cancel(nil)
	}
}

// err is the watch's verdict: a *tooSlow if it stopped the exchange.
func (w *speedWatch) err() error {
	if w == nil {
		return nil
	}
	if s := w.slow.Load(); s != nil {
		return s
	}
	return nil
}

// countingBody counts what is read through it; closing the response's
// ends the watch.
type countingBody struct {
	io.ReadCloser
	w    *speedWatch
	last bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.bytes.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error {
	err := b.ReadCloser.Close()
	if b.last {
		b.w.stop()
	}
	return err
}
