package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		line   string
		want   exit
		errIs  error
		anyErr bool
	}{
		{line: formatStatus(0), want: exit{}},
		{line: formatStatus(3 << 8), want: exit{code: 3}},
		{line: formatStatus(syscall.WaitStatus(syscall.SIGKILL)), want: exit{code: -1, signal: syscall.SIGKILL}},
		{line: formatStartError(syscall.EACCES), errIs: syscall.EACCES},
		{line: formatStartError(errors.New("no errno")), errIs: syscall.EINVAL},
		{line: "", errIs: errReaperLost},
		{line: "exit\n", errIs: errReaperLost},
		{line: "exit -1\n", errIs: errReaperLost},
		{line: "exit 99999999999\n", errIs: errReaperLost},
		{line: "quit 0\n", errIs: errReaperLost},
		{line: formatStatus(0x137f), errIs: errReaperLost}, // stopped: not an end
	} {
		got := parseStatus([]byte(tc.line))
		if tc.errIs != nil {
			if !errors.Is(got.err, tc.errIs) {
				t.Errorf("parseStatus(%q) = %+v, want %v", tc.line, got, tc.errIs)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("parseStatus(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"exit 0\n", "exit 768\n", "exit 9", "error 2\n", "", "exit  1", "error -1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x := parseStatus(b)
		if x.err == nil && (x.code < -1 || x.code > 255 || (x.code == -1) != (x.signal != 0)) {
			t.Fatalf("parseStatus(%q) = %+v", b, x)
		}
	})
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat  string
		state byte
		ppid  int
		ok    bool
	}{
		{"123 (sleep) S 45 123 123 0 -1", 'S', 45, true},
		{"123 (a) b) Z 7) Z 1 2 3", 'Z', 1, true},
		{"123 (with space) R 0", 'R', 0, true},
		{"123 (x)", 0, 0, false},
		{"123 (x) S", 0, 0, false},
		{"123 (x) S -4", 0, 0, false},
		{"123 (x) SS 4", 0, 0, false},
		{"no parenthesis S 4", 0, 0, false},
	} {
		state, ppid, ok := parseStat([]byte(tc.stat))
		if state != tc.state || ppid != tc.ppid || ok != tc.ok {
			t.Errorf("parseStat(%q) = %c %d %v, want %c %d %v", tc.stat, state, ppid, ok, tc.state, tc.ppid, tc.ok)
		}
	}
}

// FuzzParseStat: whatever a process names itself, its parent is read right.
func FuzzParseStat(f *testing.F) {
	f.Add("sleep", byte('S'), 42)
	f.Add("a) Z 7 (b", byte('Z'), 1)
	f.Fuzz(func(t *testing.T, name string, state byte, ppid int) {
		if ppid < 0 || state <= ' ' || state == ')' || state >= 0x7f {
			return
		}
		stat := fmt.Sprintf("99 (%s) %c %d 99 99 0 -1 4194560", name, state, ppid)
		if s, p, ok := parseStat([]byte(stat)); !ok || s != state || p != ppid {
			t.Fatalf("parseStat(%q) = %c %d %v", stat, s, p, ok)
		}
		parseStat([]byte(name)) // and no text makes it panic
	})
}

func TestTheReaperIsInvisibleToTheCommand(t *testing.T) {
	var out LimitedBuffer
	out.Max = 1024
	r := Run(context.Background(), Cmd{Line: `echo "${` + envvar.Reaper + `-unset}"; tr '\0' ' ' < /proc/$PPID/cmdline`, Stdout: &out})
	lines := strings.Split(string(out.Bytes()), "\n")
	if r.Err != nil || len(lines) < 2 {
		t.Fatalf("Result %+v, stdout %q", r, out.Bytes())
	}
	if lines[0] != "unset" {
		t.Errorf("the command sees %s=%q", envvar.Reaper, lines[0])
	}
	// And it does run under the reaper (no silent fall-back).
	if !strings.HasPrefix(lines[1], reaperName+" ") {
		t.Errorf("the command's parent is %q, not the reaper", lines[1])
	}
}

// TestALostReaper: a reaper killed from outside ends the run, and the
// process group it leaves is killed.
func TestALostReaper(t *testing.T) {
	dir := t.TempDir()
	reaperPid, childPid := filepath.Join(dir, "reaper"), filepath.Join(dir, "child")
	res := runAsync(context.Background(), Cmd{Line: "echo $PPID > " + reaperPid + "; sleep 60 & echo $! > " + childPid + "; wait"}, startTree)
	reaper, child := pidOf(t, reaperPid), pidOf(t, childPid)
	if err := syscall.Kill(reaper, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := <-res; !errors.Is(r.Err, errReaperLost) {
		t.Fatalf("Err = %v, want %v", r.Err, errReaperLost)
	}
	assertKilled(t, "the child of a lost reaper", child)
}

// TestRunKillsEverythingWhenTheCallerDies: a caller killed with SIGKILL
// (the daemon, kill -9) leaves nothing of its run behind: the reaper sees
// its control pipe end.
func TestRunKillsEverythingWhenTheCallerDies(t *testing.T) {
	if line := os.Getenv("SHELL_TEST_CALLER"); line != "" {
		Run(context.Background(), Cmd{Line: line})
		return
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	caller := exec.Command(os.Args[0], "-test.run=^TestRunKillsEverythingWhenTheCallerDies$")
	caller.Env = append(os.Environ(), "SHELL_TEST_CALLER=setsid sleep 60 & echo $! > "+pidFile+"; wait")
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	defer caller.Wait()
	defer caller.Process.Kill()
	pid := pidOf(t, pidFile)
	if err := caller.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// The reaper acts once the kernel has closed the dead caller's pipe.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		ok, why := testprobe.Killed(pid)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run's grandchild outlived its caller by a minute:\n%s", why)
		}
	}
}
