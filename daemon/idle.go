package daemon

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// activity is when the daemon last served a request.
type activity struct {
	last atomic.Int64 // unix nanoseconds
}

func (a *activity) touch(t time.Time) { a.last.Store(t.UnixNano()) }

// interceptor records every request, when it starts and when it ends.
func (a *activity) interceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	a.touch(time.Now())
	resp, err := handler(ctx, req)
	a.touch(time.Now())
	return resp, err
}

// idleExit stops a daemon started on demand once it has served no request
// for a while and no connection is open.
type idleExit struct {
	after    time.Duration
	activity *activity
	// open returns how many connections are open (the limitListener's).
	open func() int64
	stop func()
	log  *slog.Logger
}

func (i *idleExit) String() string { return "idle exit" }

func (i *idleExit) Run(ctx context.Context) error {
	for {
		idle := time.Since(time.Unix(0, i.activity.last.Load()))
		if idle >= i.after && i.open() == 0 {
			i.log.InfoContext(ctx, "no request for a while: a daemon started on demand stops", "idle", idle.Round(time.Second), "idle_exit", i.after)
			i.stop()
			return nil
		}
		wait := max(i.after-idle, time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
