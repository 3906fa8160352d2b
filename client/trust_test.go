//go:build unix

package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/peercred"
	"github.com/codecommitd/codecommitd/internal/testprobe"
	"github.com/codecommitd/codecommitd/internal/wire"
	codecommitdv1 "github.com/codecommitd/codecommitd/proto/codecommitd/v1"
)

// hostileDaemon answers every request with "MFA required, run this
// mfa_process", the way a listener of another user could try to make a
// helper run code.
type hostileDaemon struct {
	codecommitdv1.UnimplementedBrokerServiceServer
	marker string
	rpcs   atomic.Int32
}

func (h *hostileDaemon) SignURL(context.Context, *codecommitdv1.SignURLRequest) (*codecommitdv1.SignURLResponse, error) {
	h.rpcs.Add(1)
	return nil, wire.ToStatus(&broker.Error{Kind: broker.ErrMFARequired, Profile: "dev", Msg: "MFA required",
		MFASerial: "arn:aws:iam::1:mfa/x", MFAProcess: "touch " + h.marker})
}

// countingListener counts the bytes clients send.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// serveHostile starts a hostile daemon on a socket in a private folder.
func serveHostile(t *testing.T) (socket string, h *hostileDaemon, read *atomic.Int64) {
	t.Helper()
	dir := testprobe.ShortDir(t)
	socket = filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	h = &hostileDaemon{marker: filepath.Join(dir, "pwned")}
	read = new(atomic.Int64)
	srv := grpc.NewServer()
	codecommitdv1.RegisterBrokerServiceServer(srv, h)
	go srv.Serve(countingListener{l, read})
	t.Cleanup(srv.Stop)
	return socket, h, read
}

// recordingDaemon is a codecommitd stand-in that notes how it was run and
// fails, so a test sees whether the client autostarted or fell back.
func recordingDaemon(t *testing.T) (bin, log string) {
	dir := t.TempDir()
	log = filepath.Join(dir, "runs")
	bin = filepath.Join(dir, "codecommitd")
	os.WriteFile(bin, []byte("#!/bin/sh\necho \"$1\" >> "+log+"\nexit 1\n"), 0o755)
	return bin, log
}

func TestHelperRefusesADaemonOfAnotherUser(t *testing.T) {
	me := peercred.Current()
	for _, tc := range []struct {
		name    string
		of      func(syscall.Conn) (peercred.Peer, error)
		refused string // "" means the daemon is trusted
	}{
		{"another uid", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: me.UID + 4242, PID: 99}, nil }, "uid"},
		{"unknown peer", func(syscall.Conn) (peercred.Peer, error) {
			return peercred.Peer{UID: -1}, errors.New("getsockopt failed")
		}, "cannot be identified"},
		{"a Windows SID of another user", func(syscall.Conn) (peercred.Peer, error) { return peercred.Peer{UID: -1, SID: "S-1-5-21-9"}, nil }, "S-1-5-21-9"},
		{"this user (the control)", peercred.Of, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socket, h, read := serveHostile(t)
			bin, runs := recordingDaemon(t)
			var stderr bytes.Buffer
			a := &Auto{Socket: socket, Autostart: true, Daemon: bin, Stderr: &stderr,
				verify: &verifier{self: me, of: tc.of}}
			defer a.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := SignWithMFA(ctx, a, &broker.SignRequest{Repository: "repo", Env: map[string]string{"AWS_SECRET_ACCESS_KEY": "s3cr3t"}},
				&Prompter{Getenv: func(string) string { return "" }, Stderr: &stderr})
			_, pwned := os.Stat(h.marker)
			if tc.refused == "" {
				// The control: an answer from our own user's daemon is
				// believed, so the test above can fail.
				if pwned != nil || h.rpcs.Load() == 0 {
					t.Fatalf("the trusted daemon was not used: rpcs=%d, marker: %v, err: %v", h.rpcs.Load(), pwned, err)
				}
				return
			}
			if err == nil {
				t.Fatal("signing succeeded through an untrusted daemon")
			}
			if pwned == nil {
				t.Fatal("the helper ran the mfa_process an untrusted daemon sent")
			}
			if n := read.Load(); n != 0 || h.rpcs.Load() != 0 {
				t.Fatalf("the helper sent %d bytes (%d requests) to an untrusted daemon", n, h.rpcs.Load())
			}
			note := stderr.String()
			if !strings.Contains(note, "does not trust") || !strings.Contains(note, tc.refused) || strings.Count(note, "does not trust") != 1 {
				t.Errorf("want one line saying why the daemon is refused (%q), got:\n%s", tc.refused, note)
			}
			if b, _ := os.ReadFile(runs); strings.Contains(string(b), "run") || !strings.Contains(string(b), "oneshot") {
				t.Errorf("want the in-process fallback and no autostart; the daemon binary ran with: %q", b)
			}
		})
	}
}

func TestHelperRefusesASocketFolderThatIsNotPrivate(t *testing.T) {
	socket, h, read := serveHostile(t)
	os.Chmod(filepath.Dir(socket), 0o755)
	c, err := Dial(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.SignURL(ctx, &broker.SignRequest{Repository: "repo"})
	if !errors.Is(err, broker.ErrUntrustedDaemon) || !errors.Is(err, broker.ErrUnavailable) || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("SignURL through an open folder = %v", err)
	}
	if read.Load() != 0 || h.rpcs.Load() != 0 {
		t.Fatal("the client connected through an open folder")
	}
	// Once refused, always refused, even if the folder is fixed meanwhile.
	os.Chmod(filepath.Dir(socket), 0o700)
	if _, err := c.SignURL(ctx, &broker.SignRequest{Repository: "repo"}); !errors.Is(err, broker.ErrUntrustedDaemon) {
		t.Fatalf("second call = %v, want the same refusal", err)
	}
}

func TestMissingSocketFolderIsNoDaemonNotDistrust(t *testing.T) {
	c, err := Dial(filepath.Join(t.TempDir(), "missing", "d.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
	if !errors.Is(err, broker.ErrUnavailable) || errors.Is(err, broker.ErrUntrustedDaemon) {
		t.Fatalf("SignURL with no socket folder = %v, want unavailable (a daemon may be started)", err)
	}
}

func TestACrashingOneShotGivesOneLine(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "codecommitd")
	os.WriteFile(bin, []byte("#!/bin/sh\necho 'fatal error: fault' >&2\necho '[signal SIGBUS: bus error]' >&2\necho 'goroutine 1 [running]:' >&2\necho 'main.main()' >&2\nexit 2\n"), 0o755)
	var stderr bytes.Buffer
	a := &Auto{Socket: filepath.Join(dir, "none", "d.sock"), Daemon: bin, Stderr: &stderr}
	defer a.Close()
	_, err := a.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
	if err == nil {
		t.Fatal("no error")
	}
	all := stderr.String() + err.Error()
	for _, crash := range []string{"goroutine", "SIGBUS", "main.main"} {
		if strings.Contains(all, crash) {
			t.Fatalf("the runtime's crash report reached the user:\n%s", all)
		}
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "crashed") || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("error = %q, want one line saying it crashed", err)
	}
}
