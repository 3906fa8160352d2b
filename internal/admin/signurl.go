package admin

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/codecommit"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

func newSignURLCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sign-url <codecommit-url>",
		Short: "Print a signed https:// URL for a codecommit:// URL (for npm, pip git+https, …)",
		Long: `sign-url prints an https:// URL with a signed password for a CodeCommit
repository, for tools that cannot use codecommit:// URLs. The password is
valid for 15 minutes. The URL forms are those of git-remote-codecommit,
including codecommit::<region>://<profile>@<repository>.`,
		Example: "  pip install git+$(codecommitd sign-url codecommit::eu-west-1://dev@my-lib)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("sign-url needs one codecommit URL, such as codecommit::eu-west-1://my-profile@my-repo (got %d arguments); see codecommitd sign-url --help", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := strings.TrimPrefix(args[0], "codecommit::")
			remote, err := codecommit.ParseRemote(raw)
			if err != nil {
				return err
			}
			auto := client.NewAuto(os.Getenv, cmd.ErrOrStderr())
			auto.Socket = g.socketPath()
			defer auto.Close()
			s, err := client.Sign(cmd.Context(), client.SignOptions{Broker: auto, Process: client.Process{Stderr: cmd.ErrOrStderr()},
				Request: broker.SignRequest{Profile: remote.Profile, Region: remote.Region, Repository: remote.Repository, Client: "codecommitd sign-url"}})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sigv4.Signed{Username: s.Username, Password: s.Password}.InURL(s.URL))
			return nil
		},
	}
}
