package daemon

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/grpc"
)

// activity is when the daemon last served a request, and how many
// connections are open now.
type activity struct {
	last atomic.Int64 // unix nanoseconds
	open func() int64
}

func (a *activity) touch(t time.Time) { a.last.Store(t.UnixNano()) }

func (a *activity) interceptor(clock clockwork.Clock) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		a.touch(clock.Now())
		resp, err := handler(ctx, req)
		a.touch(clock.Now())
		return resp, err
	}
}

// idleExit stops a daemon started on demand once it has served no request
// for a while and no connection is open.
type idleExit struct {
	after    time.Duration
	clock    clockwork.Clock
	activity *activity
	stop     func()
	log      *slog.Logger
}

func (i *idleExit) String() string { return "idle exit" }

func (i *idleExit) Run(ctx context.Context) error {
	for {
		idle := i.clock.Since(time.Unix(0, i.activity.last.Load()))
		open := int64(0)
		if i.activity.open != nil {
			open = i.activity.open()
		}
		if idle >= i.after && open == 0 {
			i.log.InfoContext(ctx, "no request for a while: a daemon started on demand stops", "idle", idle.Round(time.Second), "idle_exit", i.after)
			i.stop()
			return nil
		}
		wait := max(i.after-idle, time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-i.clock.After(wait):
		}
	}
}
