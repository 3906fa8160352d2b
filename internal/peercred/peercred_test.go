package peercred

import (
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestCheck(t *testing.T) {
	me := Self{UID: 1000}
	win := Self{UID: -1, SID: "S-1-5-21-1-1000"}
	for _, tc := range []struct {
		name  string
		self  Self
		peer  Peer
		ofErr error
		want  string // "" means allowed; else a word the refusal must hold
	}{
		{"same uid", me, Peer{UID: 1000, PID: 7}, nil, ""},
		{"other uid", me, Peer{UID: 1001, PID: 7}, nil, "uid 1001"},
		{"root is another user too", me, Peer{UID: 0, PID: 1}, nil, "uid 0"},
		{"unknown peer", me, Peer{UID: -1}, errors.New("getsockopt: bad file descriptor"), "cannot be identified"},
		{"unknown uid without an error", me, Peer{UID: -1}, nil, "uid -1"},
		{"same SID", win, Peer{UID: -1, SID: "S-1-5-21-1-1000", PID: 9}, nil, ""},
		{"SID mismatch", win, Peer{UID: -1, SID: "S-1-5-21-1-1001", PID: 9}, nil, "S-1-5-21-1-1001"},
		{"no SID on Windows", win, Peer{UID: -1, PID: 9}, nil, "uid -1"},
		{"a SID where we expect a uid", me, Peer{UID: 1000, SID: "S-1-5-21-1-1000"}, nil, "S-1-5-21-1-1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.self, tc.peer, tc.ofErr)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("allowed")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("refusal %q does not name %q", err, tc.want)
			}
			var other *OtherUserError
			if tc.want != "" && tc.ofErr == nil && !errors.As(err, &other) {
				t.Errorf("refusal is not an OtherUserError: %T", err)
			}
			if tc.ofErr != nil && !errors.Is(err, ErrUnknown) {
				t.Errorf("refusal of an unknown peer is not ErrUnknown: %v", err)
			}
		})
	}
}

func TestOfReportsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("peer credentials are read on Linux and macOS here")
	}
	path := filepath.Join(testprobe.ShortDir(t), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := <-accepted
	defer server.Close()
	for name, conn := range map[string]net.Conn{"client side": c, "server side": server} {
		p, err := Of(conn.(*net.UnixConn))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := Check(Current(), p, nil); err != nil {
			t.Errorf("%s: this process refused itself: %v", name, err)
		}
		if Exe(p.PID) == "" && runtime.GOOS == "linux" {
			t.Errorf("%s: no executable for pid %d", name, p.PID)
		}
	}
}
