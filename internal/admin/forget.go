package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return errors.New("name one profile, or give --all")
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
func forget(ctx context.Context, g *globals, f *cacheFlags, profile string, all bool) (int, error) {
	c, err := client.Dial(g.socketPath())
	if err == nil {
		defer c.Close()
		n, err := c.Forget(ctx, profile, all)
		if !errors.Is(err, broker.ErrUnavailable) {
			return n, err
		}
	}
	store, _, err := f.openCache(g.socketPath(), slog.New(slog.DiscardHandler), time.Second)
	if err != nil {
		return 0, fmt.Errorf("no daemon answers on %s, and the cache file cannot be opened: %w", g.socketPath(), err)
	}
	if store == nil {
		return 0, nil // no cache file to clean
	}
	keys, err := store.DeleteProfile(profile, all)
	return len(keys), errors.Join(err, store.Close())
}
