package admin

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// newOneshotCommand is the fallback the helpers use when no daemon can be
// reached: one request on stdin, one result on stdout (package wire's
// one-shot protocol), resolved in this process.
func newOneshotCommand(g *globals) *cobra.Command {
	var f cacheFlags
	cmd := &cobra.Command{
		Use:    "oneshot",
		Short:  "Resolve one request from stdin without a daemon (used by the helpers)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// It holds the same secrets as the daemon, from the
			// first byte read: the same hardening, first.
			if err := daemon.Harden(); err != nil {
				return err
			}
			in, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			if err != nil {
				return err
			}
			req, err := wire.DecodeOneshotRequest(in)
			if err != nil {
				return err
			}
			localbroker.ScrubEnvironment()
			// The daemon is down, so the cache is free; it keeps MFA
			// sessions and roles across fallback runs. Any trouble
			// with it just means memory only.
			log := slog.New(slog.DiscardHandler)
			var store credmgr.Store
			if c, err := f.openCache(log, "", 100*time.Millisecond); err == nil && c.store != nil {
				defer c.store.Close() //nolint:errcheck // every write already committed; the process exits next
				store = c.store
			}
			b, err := localbroker.New(localbroker.Config{Log: log, Store: store})
			if err != nil {
				return err
			}
			out, err := wire.EncodeOneshotResult(b.SignURL(cmd.Context(), req))
			b.Close() // what it fetched is in the cache for the next run
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
	f.register(cmd)
	return cmd
}
