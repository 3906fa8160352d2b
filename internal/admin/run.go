package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/localbroker"
	"github.com/codecommitd/codecommitd/internal/logfile"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
	"github.com/codecommitd/codecommitd/internal/transport"
	"github.com/codecommitd/codecommitd/internal/version"
	"github.com/codecommitd/codecommitd/internal/wire"
)

type runFlags struct {
	cacheFlags
	logFile     string
	logLevel    string
	logFormat   string
	autostarted bool
	idleExit    time.Duration
	// transportIdle is how long the git transport keeps a connection.
	transportIdle time.Duration
}

// DefaultIdleExit is how long a daemon started on demand runs without a
// request before it stops.
const DefaultIdleExit = 8 * time.Hour

func newRunCommand(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground (what the service manager runs)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.transportIdle <= 0 {
				return fmt.Errorf("--transport-idle %s: give a positive duration, e.g. 10m", f.transportIdle)
			}
			if !cmd.Flags().Changed("idle-exit") && f.autostarted {
				f.idleExit = DefaultIdleExit
			}
			return runDaemon(cmd.Context(), g, &f, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.logFile, "log-file", "", "append logs to this file instead of stderr (in a private folder; past 10 MiB it becomes FILE.1)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	f.register(cmd)
	cmd.Flags().DurationVar(&f.idleExit, "idle-exit", 0, "stop after this long without a request (0: never; default for a daemon started on demand: "+DefaultIdleExit.String()+")")
	cmd.Flags().DurationVar(&f.transportIdle, "transport-idle", transport.DefaultIdleTimeout, "keep a connection of the git transport this long after its last request")
	cmd.Flags().BoolVar(&f.autostarted, "autostarted", false, "started by a client: log to the default log file, stop when idle")
	_ = cmd.Flags().MarkHidden("autostarted") // fails only for unknown flags
	return cmd
}

func runDaemon(ctx context.Context, g *globals, f *runFlags, stderr io.Writer) error {
	ready := readyReporter()
	fail := func(err error) error {
		ready(err)
		return err
	}
	if err := daemon.Harden(); err != nil {
		return fail(err)
	}
	if f.autostarted && f.logFile == "" {
		f.logFile = paths.LogFile()
	}
	log, closeLog, err := newLogger(f, stderr)
	if err != nil {
		return fail(err)
	}
	defer closeLog()
	localbroker.ScrubEnvironment()
	if os.Getenv("GOGC") == "" {
		// The heap is small and mostly short-lived request garbage;
		// collecting at 50% growth keeps RSS under 20 MiB at a few
		// percent of throughput (README, Performance).
		debug.SetGCPercent(50)
	}
	cfg := daemon.Config{
		IdleExit:      f.idleExit,
		TransportIdle: f.transportIdle,
		OnDemand:      f.autostarted,
		Socket:        g.socketPath(),
		Log:           log,
		Version:       version.Version,
		Ready:         ready,
		OpenStore: func() (daemon.StoreInfo, error) {
			owner := fmt.Sprintf("pid %d on socket %s", os.Getpid(), g.socketPath())
			c, err := f.openCache(log, owner, time.Second)
			if err != nil {
				return daemon.StoreInfo{}, err
			}
			info := daemon.StoreInfo{Path: c.path, KeySource: c.keySource, Problem: c.Problem}
			if c.store != nil {
				info.Store, info.Close = c.store, c.store.Close
			}
			return info, nil
		},
	}
	if runtime.GOOS == "windows" && !svcmgr.Interactive() {
		// Started by the Service Control Manager, which must be answered.
		svc, err := serviceConfig()
		if err != nil {
			return fail(err)
		}
		return svcmgr.RunManaged(svc, func(stop <-chan struct{}) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() { <-stop; cancel() }()
			return daemon.Run(ctx, cfg)
		})
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return daemon.Run(ctx, cfg)
}

func newLogger(f *runFlags, stderr io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	w, closeFn := stderr, func() {}
	if f.logFile != "" {
		file, err := logfile.Open(f.logFile, logfile.DefaultMaxSize)
		if err != nil {
			return nil, nil, err
		}
		w, closeFn = file, func() { _ = file.Close() } // after the last line; nothing to tell
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), closeFn, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), closeFn, nil
	}
	closeFn()
	return nil, nil, fmt.Errorf("--log-format %q: want text or json", f.logFormat)
}

// readyReporter returns the function that tells an autostarting client
// whether the daemon is listening, in a readiness report (package wire) on
// the descriptor it passed in envvar.ReadyFD; it is a no-op otherwise.
func readyReporter() func(error) {
	v := os.Getenv(envvar.ReadyFD)
	os.Unsetenv(envvar.ReadyFD)
	fd, err := strconv.Atoi(v)
	if v == "" || err != nil || fd < 3 {
		return func(error) {}
	}
	f := os.NewFile(uintptr(fd), "ready")
	done := false
	return func(err error) {
		if done || f == nil {
			return
		}
		done = true
		outcome, why := wire.Ready, ""
		switch {
		case errors.Is(err, daemon.ErrAlreadyRunning):
			outcome, why = wire.AlreadyRunning, err.Error()
		case err != nil:
			outcome, why = wire.Failed, err.Error()
		}
		if report, err := wire.EncodeReadyReport(outcome, why); err == nil {
			_, _ = f.Write(report) // a client that gave up reads nothing
		}
		f.Close()
	}
}
