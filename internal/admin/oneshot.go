package admin

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// newOneshotCommand is the fallback the helpers use when no daemon can be
// reached: one request on stdin, one result on stdout (package wire's
// one-shot protocol), resolved in this process. It always writes a result:
// the broker's outcome, or why it could not ask the broker (then it also
// says so on stderr and exits 1).
func newOneshotCommand(g *globals) *cobra.Command {
	var f cacheFlags
	cmd := &cobra.Command{
		Use:    "oneshot",
		Short:  "Resolve one request from stdin without a daemon (used by the helpers)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, outcome, err := resolveOneshot(cmd.Context(), cmd.InOrStdin(), &f)
			var result []byte
			var werr error
			if err != nil {
				result, werr = wire.EncodeOneshotFailure(err)
			} else {
				result, werr = wire.EncodeOneshotResult(s, outcome)
			}
			if werr == nil {
				_, werr = cmd.OutOrStdout().Write(result)
			}
			return cmp.Or(err, werr)
		},
	}
	f.register(cmd)
	return cmd
}

// resolveOneshot reads one request from in and resolves it: the broker's
// outcome, or (err) why it could not ask the broker.
func resolveOneshot(ctx context.Context, in io.Reader, f *cacheFlags) (_ *broker.SignedURL, outcome, err error) {
	// It holds the same secrets as the daemon, from the first byte read:
	// the same hardening, first.
	if err := daemon.Harden(); err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	req, err := wire.DecodeOneshotRequest(b)
	if err != nil {
		return nil, nil, err
	}
	localbroker.ScrubEnvironment()
	// The daemon is down, so the cache is free; it keeps MFA sessions and
	// roles across fallback runs. Any trouble with it just means memory
	// only.
	log := slog.New(slog.DiscardHandler)
	var store credmgr.Store
	if c, err := f.openCache(log, "", 100*time.Millisecond); err == nil && c.store != nil {
		defer c.store.Close() //nolint:errcheck // every write already committed; the process exits next
		store = c.store
	}
	lb, err := localbroker.New(localbroker.Config{Log: log, Store: store})
	if err != nil {
		return nil, nil, err
	}
	defer lb.Close() // what it fetched is in the cache for the next run
	s, outcome := lb.SignURL(ctx, req)
	return s, outcome, nil
}
