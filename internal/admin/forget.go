package admin

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
)

func newForgetCommand(g *globals) *cobra.Command {
	var all bool
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
			c, err := client.Dial(g.socketPath())
			if err != nil {
				return err
			}
			defer c.Close()
			n, err := c.Forget(cmd.Context(), profile, all)
			if err != nil {
				return fmt.Errorf("no daemon answers on %s (%w); nothing is cached while it is not running", g.socketPath(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "forgot %d cached entries\n", n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget every profile")
	return cmd
}
