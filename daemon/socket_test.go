//go:build unix

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// claimAndListen takes the socket at path as the daemon does (build
// claims it, then listens; when that fails, its close releases the claim).
func claimAndListen(path string) (*socket, error) {
	in, err := claim(path)
	if err != nil {
		return nil, err
	}
	s, err := in.listen()
	if err != nil {
		in.release()
		return nil, err
	}
	return s, nil
}

// stopListening lets go of s as a stopping daemon does: the gRPC server
// closes the socket, and once the daemon is done with everything else, it
// releases the instance lock.
func stopListening(s *socket) error {
	err := s.Close()
	s.in.release()
	return err
}

func TestListenNeverChangesAFolderItDidNotCreate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode os.FileMode
	}{
		{"shared like /tmp", 0o777 | os.ModeSticky},
		{"like a home folder", 0o755},
		{"group-readable", 0o750},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(testprobe.ShortDir(t), "d")
			os.Mkdir(dir, 0o700)
			os.Chmod(dir, tc.mode)
			before, _ := os.Stat(dir)
			s, err := claimAndListen(filepath.Join(dir, "cc.sock"))
			if err == nil {
				s.Close()
				t.Fatal("listened in a folder open to other users")
			}
			after, _ := os.Stat(dir)
			if after.Mode() != before.Mode() {
				t.Fatalf("the daemon changed %s from %v to %v", dir, before.Mode(), after.Mode())
			}
			msg := err.Error()
			if !strings.Contains(msg, "--socket") || strings.Contains(msg, "chmod") {
				t.Errorf("refusal %q: want the --socket fix and no chmod advice", msg)
			}
			if _, err := os.Stat(filepath.Join(dir, "cc.sock.lock")); err == nil {
				t.Error("a lock file was created in the refused folder")
			}
		})
	}
}

func TestListenCreatesItsOwnFolderPrivateAndCleansUp(t *testing.T) {
	dir := filepath.Join(testprobe.ShortDir(t), "run", "codecommitd")
	sock := filepath.Join(dir, "d.sock")
	s, err := claimAndListen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	si, _ := os.Stat(sock)
	if fi.Mode().Perm() != 0o700 || si.Mode().Perm()&0o077 != 0 {
		t.Errorf("folder %v, socket %v: want 0700 and 0600", fi.Mode().Perm(), si.Mode().Perm())
	}
	if _, err := claimAndListen(sock); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("a second listen = %v, want ErrAlreadyRunning", err)
	}
	if err := stopListening(s); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sock, sock + ".lock"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left behind after a clean stop", p)
		}
	}
}

func TestLockFileIsNeverFollowed(t *testing.T) {
	dir := filepath.Join(testprobe.ShortDir(t), "codecommitd")
	os.Mkdir(dir, 0o700)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep me\n"), 0o600)
	os.Symlink(victim, filepath.Join(dir, "d.sock.lock"))
	if s, err := claimAndListen(filepath.Join(dir, "d.sock")); err == nil {
		s.Close()
		t.Fatal("took a lock through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
}

// TestAStoppingDaemonLeavesItsSuccessorAlone: the gRPC server closes the
// listener when it starts to drain, and the daemon releases the socket again
// when it is done. Neither may take away the socket or the lock of a daemon
// that started in between, and none can start before the first is done with
// its cache.
func TestAStoppingDaemonLeavesItsSuccessorAlone(t *testing.T) {
	sock := filepath.Join(testprobe.ShortDir(t), "run", "d.sock")
	old, err := claimAndListen(sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil { // the drain begins
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Error("the socket file stays while the daemon drains: new requests would wait on it")
	}
	// A daemon started now waits for the old one to be done (it still
	// holds the cache), then takes over.
	type result struct {
		s   *socket
		err error
	}
	started := make(chan result, 1)
	go func() {
		s, err := claimAndListen(sock)
		started <- result{s, err}
	}()
	select {
	case r := <-started:
		t.Fatalf("a daemon started while the old one still held the lock: %v", r.err)
	default:
	}
	if err := stopListening(old); err != nil {
		t.Fatal(err)
	}
	r := <-started
	if r.err != nil {
		t.Fatalf("the daemon started while the old one stopped: %v", r.err)
	}
	next := r.s
	defer stopListening(next)
	old.Close()
	stopListening(old)
	for _, p := range []string{sock, sock + ".lock"} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("the stopped daemon took away its successor's %s: %v", filepath.Base(p), err)
		}
	}
	if _, err := claimAndListen(sock); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("the successor lost its lock: a third listen = %v", err)
	}
}

// TestListenRefusesWhatIsNotASocketAndLeavesNoLock: CODECOMMITD_SOCKET
// naming a regular file (or a link) is refused in one line, before or after
// the lock is taken, and no lock file is left beside it.
func TestListenRefusesWhatIsNotASocketAndLeavesNoLock(t *testing.T) {
	dir := testprobe.ShortDir(t)
	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("mine\n"), 0o600)
	link := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "nowhere"), link)
	for _, tc := range []struct{ path, want string }{
		{file, "socket path " + file + " is a regular file, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket"},
		// A dangling link passes the first look (nothing is there to
		// see), and is refused once the lock is held.
		{link, "socket path " + link + " is a symbolic link, not a socket; move it away, or choose another path with CODECOMMITD_SOCKET or --socket"},
	} {
		s, err := claimAndListen(tc.path)
		if err == nil {
			stopListening(s)
			t.Fatalf("listened on %s", tc.path)
		}
		if err.Error() != tc.want {
			t.Errorf("claimAndListen(%s)\n got: %v\nwant: %s", tc.path, err, tc.want)
		}
		if _, err := os.Lstat(LockPath(tc.path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused start left %s behind", LockPath(tc.path))
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "mine\n" {
		t.Errorf("the file at the socket path was changed: %q", b)
	}
}

// TestAStartingDaemonTurnsASecondAwayAtOnce: between taking its lock and
// listening (while it opens its cache), a daemon's lock file says it is
// starting, and a second daemon is refused at once rather than waiting for
// it as for one that stops; once it listens, the lock file holds its pid
// alone.
func TestAStartingDaemonTurnsASecondAwayAtOnce(t *testing.T) {
	sock := filepath.Join(testprobe.ShortDir(t), "run", "d.sock")
	in, err := claim(sock)
	if err != nil {
		t.Fatal(err)
	}
	if answers(sock) {
		t.Fatal("something answers before the daemon listens")
	}
	start := time.Now()
	_, err = claim(sock)
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), "is starting") {
		t.Errorf("a second daemon meanwhile: %v, want ErrAlreadyRunning saying the first is starting", err)
	}
	if took := time.Since(start); took > stoppingWait/2 {
		t.Errorf("the second daemon took %s to give up", took)
	}
	s, err := in.listen()
	if err != nil {
		t.Fatal(err)
	}
	defer stopListening(s)
	if b, _ := os.ReadFile(LockPath(sock)); string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("the lock file of a daemon that listens says %q", b)
	}
	if _, err := claim(sock); !errors.Is(err, ErrAlreadyRunning) || strings.Contains(err.Error(), "starting") {
		t.Errorf("a second daemon once the first listens: %v", err)
	}
}
