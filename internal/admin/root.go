// Package admin is the codecommitd command line: the cobra command tree of
// `codecommitd run`, `status`, `sign-url`, `forget`, `doctor`, the service
// commands and the hidden `oneshot` the helpers fall back to. Each command
// parses its flags, builds a config and calls the package that does the work.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/version"
)

// errSilent is returned by commands that already printed their failure.
var errSilent = errors.New("")

// globals are the flags every command shares.
type globals struct {
	socket string
}

func (g *globals) socketPath() string {
	if g.socket != "" {
		return g.socket
	}
	return sockpath.Default(os.Getenv)
}

// NewRootCommand returns the codecommitd command tree.
func NewRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "codecommitd",
		Short: "Keep AWS credentials fresh and sign CodeCommit git passwords",
		Long: `codecommitd is a per-user daemon that resolves AWS profiles into credentials,
keeps them fresh, and signs CodeCommit git passwords for git-remote-codecommit
and git-credential-codecommit over a private Unix socket.`,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.socket, "socket", "", "daemon socket (default $CODECOMMITD_SOCKET, else $XDG_RUNTIME_DIR/codecommitd/codecommitd.sock, else a per-user folder under the temp dir)")
	root.AddCommand(
		newRunCommand(g),
		newStatusCommand(g),
		newSignURLCommand(g),
		newForgetCommand(g),
		newOneshotCommand(g),
		newDoctorCommand(g),
	)
	root.AddCommand(newServiceCommands(g)...)
	return root
}

// Execute runs the command line and returns the exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(stderr, "codecommitd:", err)
		}
		return 1
	}
	return 0
}
