package admin

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

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

func newServiceCommands() []*cobra.Command {
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
