//go:build unix

package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adrg/xdg"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/svcmgr"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// TestMain runs this test binary as codecommitd when it is started as one
// (`run`): the daemons the tests start on demand, by hand and through the
// fake service manager are real daemons. As `stubborn SOCKET` it is a
// listener that ignores SIGTERM.
func TestMain(m *testing.M) {
	switch {
	case len(os.Args) > 1 && os.Args[1] == "run":
		os.Exit(Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	case len(os.Args) > 2 && os.Args[1] == "stubborn":
		stubborn(os.Args[2])
	}
	os.Exit(m.Run())
}

// fakeManager is a service manager that answers or not, with the service
// installed or not. Where it answers, Start runs a real daemon (this binary
// as `codecommitd run`, as a unit's ExecStart does) and Stop stops it.
type fakeManager struct {
	path      string
	installed bool
	answers   bool
	log       string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var errNoSystemd = errors.New("systemd does not run for this user here (fake)")

func (f *fakeManager) String() string  { return "systemd" }
func (f *fakeManager) Path() string    { return f.path }
func (f *fakeManager) Installed() bool { return f.installed }
func (f *fakeManager) Later() string   { return "at your next login where systemd runs" }

func (f *fakeManager) Answers() error {
	if !f.answers {
		return errNoSystemd
	}
	return nil
}

func (f *fakeManager) Active() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return false
	}
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}

func (f *fakeManager) pid() int {
	if !f.Active() {
		return 0
	}
	return f.cmd.Process.Pid
}

func (f *fakeManager) Install() error {
	os.MkdirAll(filepath.Dir(f.path), 0o700)
	f.installed = true
	return os.WriteFile(f.path, []byte("[Unit]\n"), 0o600)
}

func (f *fakeManager) Uninstall() error {
	f.installed = false
	return os.Remove(f.path)
}

func (f *fakeManager) Start() error {
	if !f.answers || !f.installed {
		return errNoSystemd
	}
	if f.cmd != nil && exited(f.cmd.Process.Pid) {
		<-f.done // stopped by its pid, not reaped yet: gone all the same
	}
	if f.Active() {
		return nil
	}
	cmd, done, err := spawnDaemon(f.log)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.cmd, f.done = cmd, done
	f.mu.Unlock()
	return nil
}

func (f *fakeManager) Stop() error {
	if !f.answers {
		return errNoSystemd
	}
	if f.Active() {
		f.cmd.Process.Signal(syscall.SIGTERM)
		<-f.done
	}
	return nil
}

// spawnDaemon starts this binary as `codecommitd run`, logging to log, and
// reaps it when it exits (done is closed then).
func spawnDaemon(log string) (*exec.Cmd, chan struct{}, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, "run", "--log-file", log)
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	return cmd, done, nil
}

// world is a throw-away home for the service commands: its own runtime,
// state and cache folders (so its own socket, cache and log), and a fake
// service manager.
type world struct {
	dir    string
	socket string
	m      *fakeManager
}

func newWorld(t *testing.T, answers, installed bool) *world {
	t.Helper()
	dir := testprobe.ShortDir(t)
	t.Cleanup(func() { xdg.Reload() }) // after the variables are restored
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": filepath.Join(dir, "home"), "XDG_RUNTIME_DIR": filepath.Join(dir, "run"),
		"XDG_STATE_HOME": filepath.Join(dir, "state"), "XDG_CACHE_HOME": filepath.Join(dir, "cache"),
		envvar.Socket: "", envvar.IdleExit: "", envvar.Keyring: "0", envvar.Bin: exe,
	} {
		t.Setenv(k, v)
	}
	xdg.Reload()
	w := &world{dir: dir, socket: filepath.Join(dir, "run", "codecommitd", "codecommitd.sock"), m: &fakeManager{
		path: filepath.Join(dir, "home", ".config", "systemd", "user", "codecommitd.service"), answers: answers,
		log: filepath.Join(dir, "service.log"),
	}}
	if installed {
		w.m.Install()
	}
	t.Cleanup(func() {
		w.stopAll()
	})
	return w
}

// stopAll stops the daemon on w's socket, whoever started it, as
// codecommitd stop does.
func (w *world) stopAll() {
	w.m.Stop()
	(&services{m: w.m, socket: w.socket, out: io.Discard}).stop(context.Background())
}

// run runs the codecommitd command line in w with args and returns what
// it printed, pids and w's folder made N and D.
func (w *world) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand(&globals{manager: func(svcmgr.Config) svcmgr.Manager { return w.m }})
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return normal(out.String(), w.dir), err
}

var pids = regexp.MustCompile(`(pid|kill(?: -CONT)?) \d+`)

func normal(s, dir string) string {
	return strings.ReplaceAll(pids.ReplaceAllString(s, "$1 N"), dir, "D")
}

// which says which daemon answers on the socket: "none", "on demand",
// "service" (the fake manager's) or "by hand", and its pid.
func (w *world) which(t *testing.T) (string, int) {
	t.Helper()
	st, err := daemonStatus(context.Background(), w.socket)
	switch {
	case notRunning(err):
		return "none", 0
	case err != nil:
		t.Fatalf("status: %v", err)
	case st.OnDemand:
		return "on demand", st.PID
	case st.PID == w.m.pid():
		return "service", st.PID
	}
	return "by hand", st.PID
}

// waitFor polls until a daemon answers on w's socket.
func (w *world) waitFor(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := daemonStatus(context.Background(), w.socket); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no daemon answers on the socket after a minute")
		}
	}
}

// start puts the daemon of the table's column on the socket.
func (w *world) start(t *testing.T, daemon string) {
	t.Helper()
	switch daemon {
	case "none":
		return
	case "on demand":
		a := &client.Auto{Socket: w.socket, Autostart: true, StartTimeout: time.Minute}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	case "service":
		if err := w.m.Start(); err != nil {
			t.Fatal(err)
		}
	case "by hand":
		_, done, err := spawnDaemon(filepath.Join(w.dir, "by-hand.log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			w.stopAll()
			<-done
		})
	}
	w.waitFor(t)
}

// TestServiceCommandsSayWhatHappened runs start, stop, restart, install
// and uninstall with the service manager running, the unit installed but no
// manager running, and neither, each with no daemon, one git started on
// demand, and the service's (or, where no manager runs, one started by
// hand): what each prints, and which daemon answers afterwards. No command
// stops a working daemon to hand it to a manager that cannot run it, and
// none says a service runs what it does not.
func TestServiceCommandsSayWhatHappened(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real daemons")
	}
	const (
		unit       = "D/home/.config/systemd/user/codecommitd.service"
		sock       = "D/run/codecommitd/codecommitd.sock"
		idle       = "it runs until codecommitd stop, or 8h0m0s without a request (CODECOMMITD_IDLE_EXIT)"
		noSystemd  = "systemd does not run for this user here (fake)"
		offline    = "service: installed (" + unit + "), but it could not start now: " + noSystemd + ". It starts at your next login where systemd runs; meanwhile "
		keptCache  = "kept the credential cache D/state/codecommitd/cache.db; codecommitd uninstall --purge removes them\n"
		keptBoth   = "kept the credential cache D/state/codecommitd/cache.db and the daemon's log D/state/codecommitd/codecommitd.log; codecommitd uninstall --purge removes them\n"
		notRunning = "codecommitd is not running\n"
	)
	type outcome struct{ out, after string }
	type cell struct {
		manager, daemon                 string
		start, stop, install, uninstall outcome
		keepsPID                        bool // start and install leave the daemon that ran
	}
	cells := []cell{
		{manager: "systemd running", daemon: "none",
			start:     outcome{"started the codecommitd service (pid N) on " + sock + "; it also starts at every login\n", "service"},
			stop:      outcome{notRunning, "none"},
			install:   outcome{"service: installed (" + unit + ") and running (pid N); it starts at every login\n", "service"},
			uninstall: outcome{"removed the service (" + unit + ")\n", "none"}},
		{manager: "systemd running", daemon: "on demand",
			start:     outcome{"stopped the daemon started on demand (pid N); the service runs it from now on (pid N)\n", "service"},
			stop:      outcome{"stopped codecommitd (pid N, started on demand)\n", "none"},
			install:   outcome{"service: installed (" + unit + ") and running (pid N); it starts at every login; it took the socket over from the daemon that ran before (pid N)\n", "service"},
			uninstall: outcome{"removed the service (" + unit + ")\nstopped codecommitd (pid N, started on demand)\n" + keptBoth, "none"}},
		{manager: "systemd running", daemon: "service", keepsPID: true,
			start:     outcome{"codecommitd is already running (pid N, run by the service) on " + sock + "\n", "service"},
			stop:      outcome{"stopped the codecommitd service (pid N)\n", "none"},
			install:   outcome{"service: installed (" + unit + ") and running (pid N); it starts at every login; it took the socket over from the daemon that ran before (pid N)\n", "service"},
			uninstall: outcome{"stopped the codecommitd service (pid N)\nremoved the service (" + unit + ")\n" + keptCache, "none"}},
		{manager: "installed, not running", daemon: "none",
			start:     outcome{"the service is installed, but " + noSystemd + "; started codecommitd (pid N) on " + sock + " instead; " + idle + "\n", "on demand"},
			stop:      outcome{notRunning, "none"},
			install:   outcome{offline + "git starts the daemon when it needs it\n", "none"},
			uninstall: outcome{"removed the service (" + unit + ")\n", "none"}},
		{manager: "installed, not running", daemon: "on demand", keepsPID: true,
			start:     outcome{"codecommitd is already running (pid N, started on demand) on " + sock + "; the service is installed, but " + noSystemd + ", so it is left as it is\n", "on demand"},
			stop:      outcome{"stopped codecommitd (pid N, started on demand)\n", "none"},
			install:   outcome{offline + "the daemon that runs (pid N, started on demand) keeps running\n", "on demand"},
			uninstall: outcome{"removed the service (" + unit + ")\nstopped codecommitd (pid N, started on demand)\n" + keptBoth, "none"}},
		{manager: "installed, not running", daemon: "by hand", keepsPID: true,
			start:     outcome{"codecommitd is already running (pid N, started by hand with codecommitd run) on " + sock + "; the service is installed, but " + noSystemd + ", so it is left as it is\n", "by hand"},
			stop:      outcome{"stopped codecommitd (pid N, started by hand with codecommitd run)\n", "none"},
			install:   outcome{offline + "the daemon that runs (pid N, started by hand with codecommitd run) keeps running\n", "by hand"},
			uninstall: outcome{"removed the service (" + unit + ")\nstopped codecommitd (pid N, started by hand with codecommitd run)\n" + keptCache, "none"}},
		{manager: "none", daemon: "none",
			start:     outcome{"started codecommitd (pid N) on " + sock + "; " + idle + "\n", "on demand"},
			stop:      outcome{notRunning, "none"},
			install:   outcome{offline + "git starts the daemon when it needs it\n", "none"},
			uninstall: outcome{"the service was not installed\n", "none"}},
		{manager: "none", daemon: "on demand", keepsPID: true,
			start:     outcome{"codecommitd is already running (pid N, started on demand) on " + sock + "\n", "on demand"},
			stop:      outcome{"stopped codecommitd (pid N, started on demand)\n", "none"},
			install:   outcome{offline + "the daemon that runs (pid N, started on demand) keeps running\n", "on demand"},
			uninstall: outcome{"the service was not installed\nstopped codecommitd (pid N, started on demand)\n" + keptBoth, "none"}},
		{manager: "none", daemon: "by hand", keepsPID: true,
			start:     outcome{"codecommitd is already running (pid N, started by hand with codecommitd run) on " + sock + "\n", "by hand"},
			stop:      outcome{"stopped codecommitd (pid N, started by hand with codecommitd run)\n", "none"},
			install:   outcome{offline + "the daemon that runs (pid N, started by hand with codecommitd run) keeps running\n", "by hand"},
			uninstall: outcome{"the service was not installed\nstopped codecommitd (pid N, started by hand with codecommitd run)\n" + keptCache, "none"}},
	}
	// restart is stop, then start with no daemon.
	startFromNothing := map[string]outcome{}
	for _, c := range cells {
		if c.daemon == "none" {
			startFromNothing[c.manager] = c.start
		}
	}
	for _, c := range cells {
		restart := outcome{c.stop.out + startFromNothing[c.manager].out, startFromNothing[c.manager].after}
		for _, cmd := range []struct {
			name string
			want outcome
		}{{"start", c.start}, {"stop", c.stop}, {"restart", restart}, {"install", c.install}, {"uninstall", c.uninstall}} {
			t.Run(c.manager+"/"+c.daemon+"/"+cmd.name, func(t *testing.T) {
				w := newWorld(t, c.manager == "systemd running", c.manager != "none")
				w.start(t, c.daemon)
				_, before := w.which(t)
				got, err := w.run(t, cmd.name)
				if err != nil {
					t.Fatalf("codecommitd %s: %v\n%s", cmd.name, err, got)
				}
				if got != cmd.want.out {
					t.Errorf("codecommitd %s printed\n%s\nwant\n%s", cmd.name, got, cmd.want.out)
				}
				after, pid := w.which(t)
				if after != cmd.want.after {
					t.Errorf("after codecommitd %s: %s answers, want %s", cmd.name, after, cmd.want.after)
				}
				if c.keepsPID && (cmd.name == "start" || cmd.name == "install" && c.manager != "systemd running") && pid != before {
					t.Errorf("codecommitd %s replaced the daemon that ran (pid %d → %d)", cmd.name, before, pid)
				}
				if cmd.name == "uninstall" && w.m.Installed() {
					t.Error("uninstall left the service installed")
				}
			})
		}
	}
}

// stubborn listens on socket, never answers, and ignores SIGTERM: a daemon
// stuck so that it cannot stop.
func stubborn(socket string) {
	signal.Ignore(syscall.SIGTERM)
	l, err := net.Listen("unix", socket)
	if err != nil {
		os.Exit(2)
	}
	defer l.Close()
	fmt.Println("listening")
	select {}
}

// TestRestartOfAFrozenDaemon stops a real daemon with SIGSTOP (as Ctrl-Z
// does): status says it does not answer, with the fix, once the client's
// first-byte deadline passed (not after its own timeout), and restart
// resumes it so it stops cleanly, then starts a new one, saying each in one
// line.
func TestRestartOfAFrozenDaemon(t *testing.T) {
	w := newWorld(t, false, false)
	w.start(t, "on demand")
	_, pid := w.which(t)
	syscall.Kill(pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	waitUntil(t, "the daemon stops on SIGSTOP", func() bool { return testprobe.Stopped(pid) })

	began := time.Now()
	out, err := w.run(t, "status")
	want := "the daemon on D/run/codecommitd/codecommitd.sock (pid N) does not answer (stopped or stuck); kill -CONT N if you stopped it, else codecommitd restart (or kill N)"
	if err == nil || normal(err.Error(), w.dir) != want || time.Since(began) > statusTimeout {
		t.Errorf("status of a stopped daemon: %v (after %s)\n%s\nwant the error %q within %s", err, time.Since(began), out, want, statusTimeout)
	}
	out, err = w.run(t, "restart")
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	wantOut := "codecommitd (pid N) was stopped (Ctrl-Z, kill -STOP or a debugger); resumed it so it could stop\n" +
		"stopped codecommitd (pid N)\n" +
		"started codecommitd (pid N) on D/run/codecommitd/codecommitd.sock; it runs until codecommitd stop, or 8h0m0s without a request (CODECOMMITD_IDLE_EXIT)\n"
	if out != wantOut {
		t.Errorf("restart printed\n%s\nwant\n%s", out, wantOut)
	}
	if ok, why := testprobe.Killed(pid); !ok {
		t.Errorf("the frozen daemon (pid %d) still runs: %s", pid, why)
	}
	if which, newPID := w.which(t); which != "on demand" || newPID == pid {
		t.Errorf("after restart: %s (pid %d), want a new daemon", which, newPID)
	}
}

// TestStopKillsADaemonThatDoesNotStop: a process that listens on the
// socket and ignores SIGTERM is killed after the grace, and stop says so.
func TestStopKillsADaemonThatDoesNotStop(t *testing.T) {
	socket := filepath.Join(testprobe.ShortDir(t), "d.sock")
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "stubborn", socket)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	line := make([]byte, len("listening\n"))
	if _, err := io.ReadFull(stdout, line); err != nil {
		t.Fatalf("the stubborn listener did not start: %v", err)
	}
	go func() { cmd.Wait(); close(done) }()

	var out bytes.Buffer
	_, pid, _ := askStatus(context.Background(), socket) // as stop asks: the pid the kernel names
	pid, err := stopPID(socket, pid, 200*time.Millisecond, &out)
	if err != nil || pid != cmd.Process.Pid {
		t.Fatalf("stopPID = %d, %v; want pid %d stopped", pid, err, cmd.Process.Pid)
	}
	want := fmt.Sprintf("codecommitd (pid %d) did not stop within 200ms of SIGTERM; killed it (SIGKILL): requests under way were cut off, the cache file is kept\n", pid)
	if out.String() != want {
		t.Errorf("stopPID said\n%s\nwant\n%s", out.String(), want)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the stubborn listener still runs a minute after stopPID returned")
	}
}

// TestStopOfADaemonThatExitedMeanwhile: a daemon that exits between the
// status that named its pid and the SIGTERM (its idle exit, the service
// manager's stop) is stopped, not a failure to stop it.
func TestStopOfADaemonThatExitedMeanwhile(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid // exited and reaped
	socket := filepath.Join(testprobe.ShortDir(t), "d.sock")
	var out bytes.Buffer
	if got, err := stopPID(socket, pid, time.Second, &out); got != pid || err != nil || out.Len() != 0 {
		t.Errorf("stopPID of an exited process = %d, %v, said %q; want %d stopped, saying nothing", got, err, out.String(), pid)
	}
}

// waitUntil polls cond until it holds, failing the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for this, in vain: %s", what)
		}
	}
}

// TestPurgeRemovesOnlyWhatItMade: uninstall --purge removes the files of
// the names codecommitd makes, a folder of its own only once it is empty,
// and nothing in a folder that is not a private one of this user's.
func TestPurgeRemovesOnlyWhatItMade(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(state string)
		want  string
		kept  []string
	}{
		{"a file of the user's in the state folder", func(state string) {
			os.WriteFile(filepath.Join(state, "notes.txt"), []byte("mine"), 0o600)
		}, "the service was not installed\n" +
			"removed D/state/codecommitd/cache.db (the credential cache)\n" +
			"removed D/run/codecommitd/cache.key (the cache's key)\n" +
			"removed D/state/codecommitd/codecommitd.log (the daemon's log)\n" +
			"left D/state/codecommitd: it also holds notes.txt, which codecommitd did not make\n" +
			"removed D/run/codecommitd\n",
			[]string{"state/codecommitd/notes.txt"}},
		{"a state folder open to others", func(state string) {
			os.Chmod(state, 0o755)
		}, "the service was not installed\n" +
			"left what is in D/state/codecommitd: D/state/codecommitd is open to other users (mode drwxr-xr-x)\n" +
			"removed D/run/codecommitd/cache.key (the cache's key)\n" +
			"removed D/run/codecommitd\n",
			[]string{"state/codecommitd/cache.db", "state/codecommitd/codecommitd.log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, false, false)
			state, run := filepath.Join(w.dir, "state", "codecommitd"), filepath.Join(w.dir, "run", "codecommitd")
			for _, d := range []string{state, run} {
				os.MkdirAll(d, 0o700)
			}
			for _, f := range []string{filepath.Join(state, "cache.db"), filepath.Join(state, "codecommitd.log"), filepath.Join(run, "cache.key")} {
				os.WriteFile(f, []byte("x"), 0o600)
			}
			tc.setup(state)
			got, err := w.run(t, "uninstall", "--purge")
			if err != nil || got != tc.want {
				t.Errorf("uninstall --purge: %v, printed\n%s\nwant\n%s", err, got, tc.want)
			}
			for _, k := range tc.kept {
				if _, err := os.Stat(filepath.Join(w.dir, k)); err != nil {
					t.Errorf("uninstall --purge removed %s, which it should have left: %v", k, err)
				}
			}
		})
	}
}

// TestASocketPathThatCannotBeOne: CODECOMMITD_SOCKET naming a regular file,
// or a path longer than the kernel takes, is one line with the fix for
// status, start and stop (not "left from a daemon that stopped", not
// "dial unix … invalid argument"), and nothing is made beside it.
func TestASocketPathThatCannotBeOne(t *testing.T) {
	w := newWorld(t, false, false)
	file := filepath.Join(w.dir, "notes.txt")
	os.WriteFile(file, []byte("mine\n"), 0o600)
	long := filepath.Join(w.dir, strings.Repeat("x", 120), "d.sock")
	for _, tc := range []struct{ socket, want string }{
		{file, "socket path D/notes.txt is a regular file, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket"},
		{long, fmt.Sprintf("socket path %s is %d bytes long; the limit here is %d (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket", normal(long, w.dir), len(long), sockpath.MaxLen)},
	} {
		t.Setenv("CODECOMMITD_SOCKET", tc.socket)
		for _, cmd := range []string{"status", "start", "stop"} {
			out, err := w.run(t, cmd)
			if err == nil || normal(err.Error(), w.dir) != tc.want || out != "" {
				t.Errorf("codecommitd %s with CODECOMMITD_SOCKET=%s: %v, printed %q\nwant the error %q", cmd, tc.socket, err, out, tc.want)
			}
		}
		if _, err := os.Lstat(tc.socket + ".lock"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a lock file was made beside %s", tc.socket)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "mine\n" {
		t.Errorf("the file at the socket path was changed: %q", b)
	}
}
