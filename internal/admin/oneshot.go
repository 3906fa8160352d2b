package admin

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// newOneshotCommand is the fallback the helpers use when no daemon can be
// reached: one request on stdin, one result on stdout (package wire's
// one-shot protocol), resolved in this process.
func newOneshotCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "oneshot",
		Short:  "Resolve one request from stdin without a daemon (used by the helpers)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			if err != nil {
				return err
			}
			req, err := wire.DecodeOneshotRequest(in)
			if err != nil {
				return err
			}
			daemon.ScrubEnvironment()
			svc, err := daemon.NewService(nil, nil, nil)
			if err != nil {
				return err
			}
			out, err := wire.EncodeOneshotResult(svc.SignURL(cmd.Context(), req))
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
}
