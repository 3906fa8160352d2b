package admin

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
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

// handOver stops a daemon that answers on socket (one git started) so the
// service manager's daemon can take the socket; otherwise the service's
// daemon would find it taken, exit, and be restarted in a loop.
func handOver(ctx context.Context, socket string, out io.Writer) error {
	c, err := client.Dial(socket)
	if err != nil {
		return nil
	}
	defer c.Close()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := c.Status(sctx)
	if err != nil || st.PID <= 0 {
		return nil // nobody answers
	}
	p, err := os.FindProcess(st.PID)
	if err == nil {
		if runtime.GOOS == "windows" {
			err = p.Kill() // no SIGTERM there; the cache survives a kill
		} else {
			err = p.Signal(syscall.SIGTERM)
		}
	}
	if err != nil {
		return fmt.Errorf("a daemon (pid %d) holds %s and cannot be stopped: %w; stop it and try again", st.PID, socket, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("unix", socket); err != nil {
			fmt.Fprintf(out, "stopped the daemon git had started (pid %d); the service runs it from now on\n", st.PID)
			return nil
		} else {
			conn.Close()
		}
	}
	return fmt.Errorf("the daemon (pid %d) on %s did not stop within 10s", st.PID, socket)
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
		Args: cobra.NoArgs,
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
			if err := handOver(cmd.Context(), g.socketPath(), cmd.OutOrStdout()); err != nil {
				return err
			}
			return svcmgr.Install(c, cmd.OutOrStdout())
		},
	}
	install.Flags().BoolVar(&print, "print", false, "print the unit (or plist) that would be installed, and change nothing")
	cmds := []*cobra.Command{install, {
		Use:   "uninstall",
		Short: "Stop the service and remove it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := serviceConfig()
			if err != nil {
				return err
			}
			return svcmgr.Uninstall(c, cmd.OutOrStdout())
		},
	}}
	for _, action := range []string{"start", "stop", "restart"} {
		cmds = append(cmds, &cobra.Command{
			Use:   action,
			Short: map[string]string{"start": "Start", "stop": "Stop", "restart": "Restart"}[action] + " the installed service",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := serviceConfig()
				if err != nil {
					return err
				}
				if action != "stop" {
					if err := handOver(cmd.Context(), g.socketPath(), cmd.OutOrStdout()); err != nil {
						return err
					}
				}
				if err := svcmgr.Control(c, action); err != nil {
					return fmt.Errorf("%s: %w (is it installed? codecommitd install)", action, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), action+": done")
				return nil
			},
		})
	}
	return cmds
}
