package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
)

func newForgetCommand(g *globals) *cobra.Command {
	var all bool
	var f cacheFlags
	cmd := &cobra.Command{
		Use:   "forget [profile | --all]",
		Short: "Drop cached credentials (and MFA sessions) of a profile, or of all",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("forget takes one profile, or --all (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return errors.New("name one profile to forget (codecommitd forget my-profile), or give --all")
			}
			profile := ""
			if len(args) == 1 {
				profile = args[0]
			}
			n, err := forget(cmd.Context(), g, &f, profile, all)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "forgot %d cached entries\n", n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget every profile")
	f.register(cmd)
	return cmd
}

// forget asks the daemon; when none runs, it edits the cache file itself.
// A daemon that holds the socket but does not answer is said as status
// says it, with the fix: its cache is its own.
func forget(ctx context.Context, g *globals, f *cacheFlags, profile string, all bool) (int, error) {
	c, err := client.Dial(g.socketPath())
	if err == nil {
		defer c.Close()
		n, err := c.Forget(ctx, profile, all)
		if s, ok := errors.AsType[*client.StuckError](err); ok {
			return 0, fmt.Errorf("%w; %s", s, s.Fix())
		}
		if !errors.Is(err, broker.ErrUnavailable) {
			return n, err
		}
	}
	oc, err := f.openCache(slog.New(slog.DiscardHandler), "", time.Second)
	switch {
	case err != nil:
		return 0, fmt.Errorf("no daemon answers on %s, and the cache file cannot be opened: %w", g.socketPath(), err)
	case oc.store == nil && f.noCache:
		return 0, nil
	case oc.store == nil:
		if _, serr := os.Lstat(oc.path); serr != nil && !oc.folderRefused {
			return 0, nil // no cache file to clean
		}
		return 0, fmt.Errorf("no daemon answers on %s, and the cache %s cannot be used here: %s", g.socketPath(), oc.path, oc.problem)
	}
	store := oc.store
	keys, err := store.DeleteProfile(profile, all)
	return len(keys), errors.Join(err, store.Close())
}
