//go:build unix

package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/sockpath"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

type refusingDaemon struct {
	codecommitdv1.UnimplementedBrokerServiceServer
}

func (refusingDaemon) SignURL(context.Context, *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	return nil, status.Error(codes.PermissionDenied, "codecommitd serves only its own user (uid 0); this connection comes from uid 1000 (pid 42 /usr/bin/git-remote-codecommit); run your own daemon as that user")
}

// TestMessagesWhenTheDaemonCannotBeUsed checks the exact message for each
// way the daemon can be out of reach: no gRPC or transport jargon, the
// socket named, the cause, and the fix where there is one.
func TestMessagesWhenTheDaemonCannotBeUsed(t *testing.T) {
	private := func(t *testing.T) string {
		return testprobe.ShortDir(t)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) (socket string)
		kind  error
		want  string // %s is the socket
		wait  time.Duration
	}{
		{"no socket folder", func(t *testing.T) string { return filepath.Join(private(t), "run", "d.sock") }, broker.ErrUnavailable,
			"no daemon answers on %s (the daemon is not running)", 0},
		{"no socket", func(t *testing.T) string { return filepath.Join(private(t), "d.sock") }, broker.ErrUnavailable,
			"no daemon answers on %s (the daemon is not running)", 0},
		{"a socket left behind", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			l, _ := net.Listen("unix", s)
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			l.Close()
			return s
		}, broker.ErrUnavailable, "no daemon answers on %s (its socket is left from a daemon that stopped)", 0},
		{"a daemon that refuses this user", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			l, _ := net.Listen("unix", s)
			srv := grpc.NewServer()
			codecommitdv1.RegisterBrokerServiceServer(srv, refusingDaemon{})
			go srv.Serve(l)
			t.Cleanup(srv.Stop)
			return s
		}, broker.ErrPermissionDenied,
			"codecommitd serves only its own user (uid 0); this connection comes from uid 1000 (pid 42 /usr/bin/git-remote-codecommit); run your own daemon as that user", 0},
		{"a shared socket folder", func(t *testing.T) string {
			d := private(t)
			os.Chmod(d, 0o777|os.ModeSticky)
			return filepath.Join(d, "d.sock")
		}, broker.ErrUntrustedDaemon,
			"codecommitd does not trust what listens on %s: its folder is open to other users (mode dtrwxrwxrwx); it will not send it anything. To fix: choose a path in a private folder of your own with CODECOMMITD_SOCKET (for example: mkdir -m 700 ~/.codecommitd)", 0},
		{"a socket folder of another user", func(t *testing.T) string {
			if os.Getuid() != 0 {
				t.Skip("needs root to give a folder to another user")
			}
			d := private(t)
			os.Chown(d, 65534, 65534)
			return filepath.Join(d, "d.sock")
		}, broker.ErrUntrustedDaemon,
			"codecommitd does not trust what listens on %s: its folder belongs to uid 65534, not to this user (uid 0): another user may be listening there; it will not send it anything. To fix: choose a path in a private folder of your own with CODECOMMITD_SOCKET (for example: mkdir -m 700 ~/.codecommitd)", 0},
		// Issue #21: a path that cannot be a socket is named with the
		// fix, not taken for a daemon that stopped.
		{"a regular file as the socket", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			os.WriteFile(s, nil, 0o600)
			return s
		}, broker.ErrUnavailable, "socket path %s is a regular file, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket", 0},
		{"a folder as the socket", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			os.Mkdir(s, 0o700)
			return s
		}, broker.ErrUnavailable, "socket path %s is a folder, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket", 0},
		{"a socket path too long", func(t *testing.T) string {
			return filepath.Join(private(t), strings.Repeat("d", 120), "d.sock")
		}, broker.ErrUnavailable, "socket path %s is %d bytes long; the limit here is " + strconv.Itoa(sockpath.MaxLen) + " (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket", 0},
		{"a daemon that hangs up", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			serve(t, s, func(c net.Conn) { c.Close() })
			return s
		}, broker.ErrUnavailable, "the daemon on %s stopped answering (the connection broke: it is stopping, or it crashed)", 0},
		{"a daemon that does not answer", func(t *testing.T) string {
			s := filepath.Join(private(t), "d.sock")
			serve(t, s, func(c net.Conn) { t.Cleanup(func() { c.Close() }) })
			return s
		}, context.DeadlineExceeded, "the daemon on %s did not answer in time; codecommitd status shows what it is doing, codecommitd restart restarts it", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socket := tc.setup(t)
			c, err := Dial(socket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if tc.wait > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.wait)
				defer cancel()
			}
			_, err = c.SignURL(ctx, &broker.SignRequest{Repository: "repo"})
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: %v, want %v", err, tc.kind)
			}
			want := strings.NewReplacer("%s", socket, "%d", strconv.Itoa(len(socket))).Replace(tc.want)
			if err.Error() != want {
				t.Errorf("message\n got: %s\nwant: %s", err, want)
			}
		})
	}
}

// serve accepts connections on socket until the test ends and hands each
// to handle.
func serve(t *testing.T, socket string, handle func(net.Conn)) {
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
}

func TestTheFallbackNoteIsOneLineWithTheCause(t *testing.T) {
	dir := testprobe.ShortDir(t)
	socket := filepath.Join(dir, "run", "d.sock")
	file := filepath.Join(dir, "file.sock")
	os.WriteFile(file, nil, 0o600)
	long := filepath.Join(dir, strings.Repeat("d", 300), "d.sock")
	for _, tc := range []struct {
		name      string
		socket    string
		autostart bool
		idleExit  string
		want      string
	}{
		// Issue #21: what is wrong and the fix, whole, and no daemon
		// started (it could not listen there either).
		{"a regular file as the socket", file, true, "", "codecommitd: socket path " + file + " is a regular file, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket; resolving in this process\n"},
		{"a socket path much too long", long, true, "", "codecommitd: socket path " + long[:sockpath.MaxLen/2] + "…" + long[len(long)-sockpath.MaxLen/2:] + " is " + strconv.Itoa(len(long)) + " bytes long; the limit here is " + strconv.Itoa(sockpath.MaxLen) + " (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with CODECOMMITD_SOCKET or --socket; resolving in this process\n"},
		{"autostart off", socket, false, "", "codecommitd: no daemon answers on " + socket + " (the daemon is not running); CODECOMMITD_AUTOSTART=0 keeps it from being started; resolving in this process\n"},
		{"start fails", socket, true, "", "codecommitd: no daemon answers on " + socket + " (the daemon is not running); starting it failed: cannot run /nonexistent/codecommitd: no such file or directory; resolving in this process\n"},
		{"a bad idle exit", socket, true, "30", "codecommitd: no daemon answers on " + socket + " (the daemon is not running); starting it failed: CODECOMMITD_IDLE_EXIT=30 is not a duration (such as 30m or 8h; 0 for never); resolving in this process\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envvar.IdleExit, tc.idleExit)
			var stderr bytes.Buffer
			a := &Auto{Socket: tc.socket, Autostart: tc.autostart, Daemon: "/nonexistent/codecommitd", Stderr: &stderr}
			defer a.Close()
			a.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
			if stderr.String() != tc.want {
				t.Errorf("note\n got: %s\nwant: %s", stderr.String(), tc.want)
			}
		})
	}
}

// TestAFailedStartIsNotRetriedInTheSameProcess: a helper that asks twice
// (the second time with an MFA code) does not wait for a daemon that could
// not be started the first time.
func TestAFailedStartIsNotRetriedInTheSameProcess(t *testing.T) {
	dir := testprobe.ShortDir(t) // the socket's path must fit, whatever TMPDIR is
	runs := filepath.Join(dir, "runs")
	daemon := filepath.Join(dir, "codecommitd")
	os.WriteFile(daemon, []byte("#!/bin/sh\necho \"$1\" >> "+runs+"\necho 'cannot start' >&2\nexit 1\n"), 0o755)
	var stderr bytes.Buffer
	a := &Auto{Socket: filepath.Join(dir, "run", "d.sock"), Autostart: true, Daemon: daemon, Stderr: &stderr}
	defer a.Close()
	for range 2 {
		a.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
	}
	b, _ := os.ReadFile(runs)
	if n := strings.Count(string(b), "run\n"); n != 1 {
		t.Errorf("the daemon was started %d times, want 1:\n%s", n, b)
	}
	notes := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(notes) != 2 || notes[0] != notes[1] || !strings.Contains(notes[0], "starting it failed") {
		t.Errorf("notes: want the same one twice:\n%s", stderr.String())
	}
}
