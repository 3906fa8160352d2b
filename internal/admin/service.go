package admin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/clean"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
)

// serviceConfig describes the service for this user and this binary.
func serviceConfig() (svcmgr.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return svcmgr.Config{}, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return svcmgr.Config{}, err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return svcmgr.Config{}, err
	}
	c := svcmgr.Config{Exe: exe, Home: home, LogDir: paths.LogDir()}
	if runtime.GOOS == "windows" {
		if u, err := user.Current(); err == nil {
			c.User = u.Username
		}
	}
	return c, nil
}

// handOver stops a daemon that git started on demand, so the service
// manager's daemon can take the socket (else it would find it taken, exit,
// and be restarted in a loop).
func handOver(ctx context.Context, socket string, out io.Writer) error {
	st, err := daemonStatus(ctx, socket)
	if err != nil || !st.OnDemand {
		return nil
	}
	pid, err := stopDaemon(ctx, socket)
	if err == nil && pid != 0 {
		fmt.Fprintf(out, "stopped the daemon git had started (pid %d); the service runs it from now on\n", pid)
	}
	return err
}

// startDaemon starts a daemon on socket without a service manager, as git
// does on demand, and reports it.
func startDaemon(ctx context.Context, socket string, out io.Writer) error {
	if st, err := daemonStatus(ctx, socket); err == nil {
		fmt.Fprintf(out, "codecommitd is already running (pid %d, on %s)\n", st.PID, socket)
		return nil
	}
	auto := &client.Auto{Socket: socket, Autostart: true}
	if err := auto.Start(ctx); err != nil {
		return fmt.Errorf("could not start the daemon on %s: %w", socket, err)
	}
	st, err := daemonStatus(ctx, socket)
	if err != nil {
		return fmt.Errorf("the daemon started but does not answer on %s: %w", socket, err)
	}
	how := "until codecommitd stop"
	if st.IdleExit > 0 {
		how = fmt.Sprintf("until codecommitd stop, or %s without a request (%s)", st.IdleExit, envvar.IdleExit)
	}
	fmt.Fprintf(out, "started codecommitd (pid %d) on %s; it runs %s\n", st.PID, socket, how)
	return nil
}

func newServiceCommands(g *globals) []*cobra.Command {
	var print bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install and start codecommitd as a per-user service that starts at every login",
		Long: `install registers codecommitd with the user's service manager and starts it:
a systemd user unit in ~/.config/systemd/user (Linux), a LaunchAgent in
~/Library/LaunchAgents (macOS), or a Service Control Manager service running as
you (Windows). Where no service manager answers (containers, CI), the unit is
still written and install says it could not start it.
The service manager does not pass your shell's environment: see what the
daemon sees with codecommitd doctor.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := serviceConfig()
			if err != nil {
				return err
			}
			if print {
				r, err := svcmgr.Render(c)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), r.Content)
				return err
			}
			if runtime.GOOS == "windows" {
				if c.Password, err = readPassword(cmd, c.User); err != nil {
					return err
				}
			}
			if pid, err := stopDaemon(cmd.Context(), g.socketPath()); err != nil {
				return err
			} else if pid != 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "stopped the daemon that was running (pid %d); the service runs it from now on\n", pid)
			}
			res, err := svcmgr.Install(c)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Summary(c))
			return nil
		},
	}
	install.Flags().BoolVar(&print, "print", false, "print the unit (or plist) that would be installed, and change nothing")
	cmds := []*cobra.Command{install, {
		Use:   "uninstall",
		Short: "Stop the service and remove it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := serviceConfig()
			if err != nil {
				return err
			}
			return svcmgr.Uninstall(c, cmd.OutOrStdout())
		},
	}}
	cmds = append(cmds,
		&cobra.Command{
			Use:   "start",
			Short: "Start the daemon: through the service manager when installed, else as git does on demand",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return start(cmd.Context(), g, cmd.OutOrStdout())
			},
		},
		&cobra.Command{
			Use:   "stop",
			Short: "Stop the daemon, whoever started it (the service manager, or git on demand)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return stop(cmd.Context(), g, cmd.OutOrStdout())
			},
		},
		&cobra.Command{
			Use:   "restart",
			Short: "Stop the daemon, whoever started it, and start it again",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := stop(cmd.Context(), g, cmd.OutOrStdout()); err != nil {
					return err
				}
				return start(cmd.Context(), g, cmd.OutOrStdout())
			},
		},
	)
	return cmds
}

// start starts the daemon: through the service manager when the service
// is installed and the manager answers, else detached, as git would.
func start(ctx context.Context, g *globals, out io.Writer) error {
	c, err := serviceConfig()
	if err == nil && svcmgr.Installed(c) {
		if st, err := daemonStatus(ctx, g.socketPath()); err == nil && !st.OnDemand {
			fmt.Fprintf(out, "codecommitd is already running (pid %d, on %s)\n", st.PID, g.socketPath())
			return nil
		}
		if err := handOver(ctx, g.socketPath(), out); err != nil {
			return err
		}
		cerr := svcmgr.Control(c, "start")
		if cerr == nil {
			fmt.Fprintln(out, "started the codecommitd service; it also starts at every login")
			return nil
		}
		fmt.Fprintf(out, "the service is installed but no service manager answers here (%s); starting the daemon directly\n", svcmgrCause(cerr))
	}
	return startDaemon(ctx, g.socketPath(), out)
}

// stop stops the daemon, whoever started it: a service's daemon through
// the service manager, any other (or one the manager did not stop) by its
// pid.
func stop(ctx context.Context, g *globals, out io.Writer) error {
	st, err := daemonStatus(ctx, g.socketPath())
	if notRunning(err) {
		fmt.Fprintln(out, "codecommitd is not running")
		return nil
	}
	if err == nil && !st.OnDemand {
		if c, cerr := serviceConfig(); cerr == nil && svcmgr.Installed(c) && svcmgr.Control(c, "stop") == nil {
			fmt.Fprintln(out, "stopped the codecommitd service")
		}
	}
	pid, err := stopDaemon(ctx, g.socketPath())
	if err != nil {
		return err
	}
	if pid != 0 {
		fmt.Fprintf(out, "stopped codecommitd (pid %d)\n", pid)
	}
	return nil
}

// svcmgrCause is a service manager's failure in a few words.
func svcmgrCause(err error) string { return clean.Line(err.Error(), 160) }
