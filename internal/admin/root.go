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
	"strings"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
	"github.com/codecommitd/codecommitd/internal/version"
)

// errSilent is returned by commands that already printed their failure.
var errSilent = errors.New("")

// exitError ends a command with an exit code of its own; err, if set, is
// printed first.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// noArgs refuses arguments with a message people understand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments (it got %s); see codecommitd %s --help", cmd.Name(), clean.Quote(strings.Join(args, " "), 60), cmd.Name())
	}
	return nil
}

// globals are the flags every command shares, and the service manager.
type globals struct {
	socket string
	// manager is the service manager for a service config: svcmgr.System,
	// or a fake in tests.
	manager func(svcmgr.Config) svcmgr.Manager
}

func (g *globals) socketPath() string {
	if g.socket != "" {
		return g.socket
	}
	return sockpath.Default(os.Getenv)
}

// NewRootCommand returns the codecommitd command tree.
func NewRootCommand() *cobra.Command {
	return newRootCommand(&globals{manager: svcmgr.System})
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "codecommitd",
		Short: "Keep AWS credentials fresh and sign CodeCommit git passwords",
		Long: `codecommitd is a per-user daemon that resolves AWS profiles into credentials,
keeps them fresh, and signs CodeCommit git passwords for git-remote-codecommit
and git-credential-codecommit over a private Unix socket.`,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %s; run codecommitd --help for the list", clean.Quote(args[0], 40))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w; see codecommitd %s --help", err, cmd.Name())
	})
	root.PersistentFlags().StringVar(&g.socket, "socket", "", "daemon socket (default $"+envvar.Socket+", else codecommitd.sock in $XDG_RUNTIME_DIR/codecommitd, /run/user/<uid>/codecommitd or a per-user folder under the temp dir)")
	root.AddCommand(
		newRunCommand(g),
		newStatusCommand(g),
		newSignURLCommand(g),
		newForgetCommand(g),
		newOneshotCommand(g),
		newDoctorCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
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
	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.err != nil {
			say(stderr, exit.err)
		}
		return exit.code
	case !errors.Is(err, errSilent):
		say(stderr, err)
	}
	return 1
}

// say prints err as one line starting with "codecommitd" (broker.Say).
func say(w io.Writer, err error) { fmt.Fprintln(w, broker.Say(err)) }
