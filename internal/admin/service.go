package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
)

// serviceWait bounds how long start and install wait for the daemon the
// service manager started to answer.
const serviceWait = 10 * time.Second

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

// services is what the service commands act on: the service manager, the
// daemon's socket, and where they say what they did. Each command prints
// one line per thing it did, and every line is true whatever the manager
// can do here: a daemon is handed to the service only where the manager
// answers, and left running where it does not.
type services struct {
	m      svcmgr.Manager
	socket string
	out    io.Writer
}

func (g *globals) services(cmd *cobra.Command, c svcmgr.Config) *services {
	return &services{m: g.manager(c), socket: g.socketPath(), out: cmd.OutOrStdout()}
}

// running is the daemon on the socket: its status when it answers, nil
// when none runs, or why it cannot be asked (it is stuck or stopped: a
// *client.StuckError; it cannot be trusted); and the process the kernel
// says listens there (0 when none does, or the kernel did not say).
func (s *services) running(ctx context.Context) (*broker.Status, int, error) {
	st, pid, err := askStatus(ctx, s.socket)
	if notRunning(err) {
		return nil, 0, nil
	}
	return st, pid, err
}

// stuck reports whether err is a daemon that does not answer.
func stuck(err error) bool {
	_, ok := errors.AsType[*client.StuckError](err)
	return ok
}

// who says who started the daemon st describes.
func (s *services) who(st *broker.Status) string {
	switch {
	case st.OnDemand:
		return "started on demand"
	case s.m.Active():
		return "run by the service"
	}
	return "started by hand with codecommitd run"
}

// start starts the daemon: through the service manager when the service
// is installed and the manager answers (a daemon started on demand is
// stopped first, so the service's can take the socket), else detached, as
// git would. A daemon that runs is never stopped for a manager that cannot
// run the service.
func (s *services) start(ctx context.Context) error {
	st, pid, err := s.running(ctx)
	if err != nil {
		return err
	}
	installed := s.m.Installed()
	var down error
	if installed {
		down = s.m.Answers()
	}
	switch {
	case st != nil && installed && down == nil && st.OnDemand:
		if pid, err = stopPID(s.socket, pid, stopGrace, s.out); err != nil {
			return err
		}
		if err := s.m.Start(); err != nil {
			return s.startDirect(ctx, fmt.Sprintf("stopped the daemon started on demand (pid %d) for the service, but %v; ", pid, err), " again")
		}
		nst, err := s.waitService(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "stopped the daemon started on demand (pid %d); the service runs it from now on (pid %d)\n", pid, nst.PID)
		return nil
	case st != nil:
		line := fmt.Sprintf("codecommitd is already running (pid %d, %s) on %s", st.PID, s.who(st), s.socket)
		if down != nil {
			line += fmt.Sprintf("; the service is installed, but %v, so it is left as it is", down)
		}
		fmt.Fprintln(s.out, line)
		return nil
	case installed && down == nil:
		if err := s.m.Start(); err != nil {
			return s.startDirect(ctx, fmt.Sprintf("the service is installed, but %v; ", err), " instead")
		}
		nst, err := s.waitService(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "started the codecommitd service (pid %d) on %s; it also starts at every login\n", nst.PID, s.socket)
		return nil
	case installed:
		return s.startDirect(ctx, fmt.Sprintf("the service is installed, but %v; ", down), " instead")
	}
	return s.startDirect(ctx, "", "")
}

// startDirect starts a daemon on the socket without a service manager, as
// git does on demand, and says so after prefix (what happened before).
func (s *services) startDirect(ctx context.Context, prefix, how string) error {
	auto := &client.Auto{Socket: s.socket, Autostart: true}
	if err := auto.Start(ctx); err != nil {
		return fmt.Errorf("%scould not start the daemon on %s: %w", prefix, s.socket, err)
	}
	st, err := daemonStatus(ctx, s.socket)
	if err != nil {
		return fmt.Errorf("%sthe daemon started but does not answer on %s: %w", prefix, s.socket, err)
	}
	until := "until codecommitd stop"
	if st.IdleExit > 0 {
		until = fmt.Sprintf("until codecommitd stop, or %s without a request (%s)", st.IdleExit, envvar.IdleExit)
	}
	fmt.Fprintf(s.out, "%sstarted codecommitd (pid %d) on %s%s; it runs %s\n", prefix, st.PID, s.socket, how, until)
	return nil
}

// waitService waits for the daemon the service manager started to answer
// on the socket.
func (s *services) waitService(ctx context.Context) (*broker.Status, error) {
	deadline := time.Now().Add(serviceWait)
	for {
		st, err := daemonStatus(ctx, s.socket)
		if err == nil && !st.OnDemand {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s started the service, but no daemon of its answers on %s within %s; see the service's log (systemctl --user status codecommitd, ~/Library/Logs/codecommitd)", s.m, s.socket, serviceWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops the daemon, whoever started it: the service's through the
// service manager (so that it does not start it again), any other (or one
// the manager did not stop) by the pid the kernel names for the socket
// (stopPID).
func (s *services) stop(ctx context.Context) error {
	st, pid, err := s.running(ctx)
	switch {
	case stuck(err):
	case err != nil:
		return err
	case st == nil:
		fmt.Fprintln(s.out, "codecommitd is not running")
		return nil
	}
	if st != nil && !st.OnDemand && s.m.Installed() && s.m.Active() {
		lock, _ := os.Lstat(daemon.LockPath(s.socket))
		if err := s.m.Stop(); err != nil {
			fmt.Fprintf(s.out, "%v; stopping the daemon itself\n", err)
		} else if pid == 0 {
			fmt.Fprintln(s.out, "stopped the codecommitd service")
			return nil
		} else if gone(pid, lock, s.socket, stopGrace) {
			fmt.Fprintf(s.out, "stopped the codecommitd service (pid %d)\n", pid)
			return nil
		}
	}
	pid, err = stopPID(s.socket, pid, stopGrace, s.out)
	if err != nil {
		return err
	}
	switch {
	case st != nil:
		fmt.Fprintf(s.out, "stopped codecommitd (pid %d, %s)\n", pid, s.who(st))
	default:
		fmt.Fprintf(s.out, "stopped codecommitd (pid %d)\n", pid)
	}
	return nil
}

// install installs the service and starts it where the manager answers
// (stopping the daemon on the socket first, so the service's can take it),
// and says in one line what is installed, what runs, and what happens
// where the manager does not answer.
func (s *services) install(ctx context.Context) error {
	if err := s.m.Install(); err != nil {
		return err
	}
	where := "registered with " + s.m.String()
	if p := s.m.Path(); p != "" {
		where = "installed (" + p + ")"
	}
	st, pid, err := s.running(ctx)
	if err != nil && !stuck(err) {
		return err
	}
	if down := s.m.Answers(); down != nil {
		meanwhile := "git starts the daemon when it needs it"
		if st != nil {
			meanwhile = fmt.Sprintf("the daemon that runs (pid %d, %s) keeps running", st.PID, s.who(st))
		}
		fmt.Fprintf(s.out, "service: %s, but it could not start now: %v. It starts %s; meanwhile %s\n", where, down, s.m.Later(), meanwhile)
		return nil
	}
	tookOver := ""
	if st != nil || stuck(err) {
		if pid, err = stopPID(s.socket, pid, stopGrace, s.out); err != nil {
			return err
		}
		tookOver = fmt.Sprintf("; it took the socket over from the daemon that ran before (pid %d)", pid)
	}
	if err := s.m.Start(); err != nil {
		fmt.Fprintf(s.out, "service: %s, but it could not start now: %v. It starts %s; meanwhile git starts the daemon when it needs it\n", where, err, s.m.Later())
		return nil
	}
	nst, err := s.waitService(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "service: %s and running (pid %d); it starts at every login%s\n", where, nst.PID, tookOver)
	return nil
}

// uninstall stops the service and removes it, stops any daemon still on
// the socket, and with purge removes what codecommitd keeps (see purge).
func (s *services) uninstall(ctx context.Context, purge bool) error {
	st, _, err := s.running(ctx)
	if err != nil && !stuck(err) {
		return err
	}
	if s.m.Installed() {
		if st != nil && !st.OnDemand && s.m.Active() {
			if err := s.stop(ctx); err != nil {
				return err
			}
		}
		if err := s.m.Uninstall(); err != nil {
			return err
		}
		if p := s.m.Path(); p != "" {
			fmt.Fprintf(s.out, "removed the service (%s)\n", p)
		} else {
			fmt.Fprintf(s.out, "removed the service from %s\n", s.m)
		}
	} else {
		fmt.Fprintln(s.out, "the service was not installed")
	}
	if st, _, err = s.running(ctx); st != nil || stuck(err) {
		if err := s.stop(ctx); err != nil {
			return err
		}
	}
	if purge {
		return purgeState(ctx, s.out, s.socket)
	}
	if kept := keptState(); kept != "" {
		fmt.Fprintf(s.out, "kept %s; codecommitd uninstall --purge removes them\n", kept)
	}
	return nil
}

func newServiceCommands(g *globals) []*cobra.Command {
	var print, purge bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install and start codecommitd as a per-user service that starts at every login",
		Long: `install registers codecommitd with the user's service manager and starts it:
a systemd user unit in ~/.config/systemd/user (Linux), a LaunchAgent in
~/Library/LaunchAgents (macOS), or a Service Control Manager service running as
you (Windows). A daemon already on the socket is stopped first, so the
service's can take it. Where no service manager answers (containers, CI, a
login without systemd), the unit is still written, the daemon that runs is
left running, and install says so in its one line.
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
			return g.services(cmd, c).install(cmd.Context())
		},
	}
	install.Flags().BoolVar(&print, "print", false, "print the unit (or plist) that would be installed, and change nothing")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop the service and the daemon, and remove the service (--purge: also the cache, its key and the log)",
		Long: `uninstall stops the service and removes it, and stops any daemon still on the
socket (one git started on demand included). With --purge it also removes what
codecommitd keeps: the credential cache, its key (key file or keyring entry),
the log and the cache of git's version, each named as it goes. It removes only
files codecommitd makes, and a folder only once nothing else is in it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := serviceConfig()
			if err != nil {
				return err
			}
			return g.services(cmd, c).uninstall(cmd.Context(), purge)
		},
	}
	uninstall.Flags().BoolVar(&purge, "purge", false, "also remove the credential cache, its key, the log and the cache of git's version")
	run := func(f func(s *services, ctx context.Context) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c, err := serviceConfig()
			if err != nil {
				return err
			}
			return f(g.services(cmd, c), cmd.Context())
		}
	}
	return []*cobra.Command{install, uninstall,
		{
			Use:   "start",
			Short: "Start the daemon: through the service manager where it answers, else as git does on demand",
			Args:  noArgs,
			RunE:  run((*services).start),
		},
		{
			Use:   "stop",
			Short: "Stop the daemon, whoever started it (the service manager, git on demand, or you)",
			Long: `stop stops the daemon on the socket, whoever started it: the service's
through the service manager, any other with SIGTERM to the process the kernel
says listens there. Requests under way finish. A daemon stopped with Ctrl-Z or
kill -STOP is resumed so it can stop; one still running 15s after SIGTERM is
killed (SIGKILL). Each of these is said in one line.`,
			Args: noArgs,
			RunE: run((*services).stop),
		},
		{
			Use:   "restart",
			Short: "Stop the daemon, whoever started it (killing it if it is stuck), and start it again",
			Args:  noArgs,
			RunE: run(func(s *services, ctx context.Context) error {
				if err := s.stop(ctx); err != nil {
					return err
				}
				return s.start(ctx)
			}),
		},
	}
}
