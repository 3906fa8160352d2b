//go:build unix

package shell

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestLimitedBuffer(t *testing.T) {
	b := &LimitedBuffer{Max: 5}
	for _, s := range []string{"ab", "cdef", "gh"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if string(b.Bytes()) != "abcde" || !b.Overflowed() {
		t.Fatalf("kept %q, overflowed %v", b.Bytes(), b.Overflowed())
	}
	small := &LimitedBuffer{Max: 5}
	small.Write([]byte("abc"))
	if small.Overflowed() {
		t.Fatal("3 bytes overflowed 5")
	}
}

// strategies are the ways a run's processes are held: the one Run uses on
// this system, and the process group alone (other Unix systems, and Linux
// without /proc), so both are tested here.
var strategies = []struct {
	name  string
	start starter
}{
	{"tree", startTree},
	{"group", startDirect},
}

// catchesEscapees reports whether a strategy kills what left the process
// group: the reaper's, on Linux.
func catchesEscapees(name string) bool { return name == "tree" && runtime.GOOS == "linux" }

// pidOf waits until the command wrote a pid line to path, and returns it.
// The process is killed by that pid when the test ends, whatever happened.
func pidOf(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(path); strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 1 {
				t.Fatalf("%s holds %q, not a pid", path, b)
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command never wrote %s", filepath.Base(path))
		}
	}
}

func assertKilled(t *testing.T, what string, pid int) {
	t.Helper()
	if ok, why := testprobe.Killed(pid); !ok {
		t.Errorf("%s (pid %d) still runs after Run returned:\n%s", what, pid, why)
	}
}

// runAsync runs c with start and returns a channel that gets the result.
func runAsync(ctx context.Context, c Cmd, start starter) <-chan Result {
	ch := make(chan Result, 1)
	go func() { ch <- run(ctx, c, start) }()
	return ch
}

func jsonComplete(b []byte) bool { return json.Valid(b) }

// needSetsid skips a test that starts a process in a session of its own
// with the setsid command, where there is none (macOS).
func needSetsid(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid command here (macOS has none)")
	}
}

func TestRunKillsEverythingWhenTheContextEnds(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The shell starts a grandchild that holds stdout and sleeps.
			res := runAsync(ctx, Cmd{Line: "sleep 60 & echo $! > " + pidFile + "; wait", Stdout: &LimitedBuffer{Max: 1024}}, s.start)
			// The context ends once the grandchild runs.
			pid := pidOf(t, pidFile)
			start := time.Now()
			cancel()
			r := <-res
			if !errors.Is(r.Err, context.Canceled) {
				t.Fatalf("Err = %v, want the context's", r.Err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("Run took %s after the context ended", took)
			}
			assertKilled(t, "the grandchild", pid)
		})
	}
}

// TestRunKillsWhatLeftTheGroup: a process that leaves the process group,
// the session and the environment is killed too, where the system allows.
func TestRunKillsWhatLeftTheGroup(t *testing.T) {
	for _, tc := range []struct{ name, line string }{
		{"setsid", "setsid sleep 60 & echo $! > PID; wait"},
		// The middle process exits at once, so the sleep is an orphan with
		// an empty environment, in a session of its own, holding none of
		// the run's pipes.
		{"double fork, empty environment", "( env -i setsid sh -c 'echo $$ > PID; exec sleep 60' </dev/null >/dev/null 2>&1 & ); sleep 60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !catchesEscapees("tree") {
				t.Skip("only the Linux reaper kills what leaves the process group; elsewhere it survives (README, Platforms)")
			}
			needSetsid(t)
			pidFile := filepath.Join(t.TempDir(), "pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res := runAsync(ctx, Cmd{Line: strings.ReplaceAll(tc.line, "PID", pidFile)}, startTree)
			pid := pidOf(t, pidFile)
			cancel()
			<-res
			assertKilled(t, "the escaped grandchild", pid)
		})
	}
}

func TestRunUsesACompleteAnswerAtOnce(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			var out LimitedBuffer
			out.Max = 1024
			start := time.Now()
			// The straggler holds stdout for a minute; so would the grace.
			r := run(context.Background(), Cmd{Line: "(exec sleep 60) & echo $! > " + pidFile + `; echo '{"a": 1}'`,
				Stdout: &out, Complete: jsonComplete, Grace: time.Minute}, s.start)
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("Run took %s: it waited for the straggler or the grace", took)
			}
			if r.Err != nil || r.ExitCode != 0 || r.HeldOpen {
				t.Fatalf("Result = %+v, want a success", r)
			}
			if strings.TrimSpace(string(out.Bytes())) != `{"a": 1}` {
				t.Errorf("stdout = %q", out.Bytes())
			}
			assertKilled(t, "the straggler", pidOf(t, pidFile))
		})
	}
}

func TestRunReadsDuringTheGrace(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo, shellPid := filepath.Join(dir, "fifo"), filepath.Join(dir, "shell")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			var out LimitedBuffer
			out.Max = 1024
			// The shell prints half the answer and exits; a process it left
			// prints the rest once the test lets it, after that exit.
			res := runAsync(context.Background(), Cmd{Line: "(read x < " + fifo + `; echo '1}') & echo $$ > ` + shellPid + `; printf '{"a": '`,
				Stdout: &out, Complete: jsonComplete, Grace: time.Minute}, s.start)
			pid := pidOf(t, shellPid)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if ok, _ := testprobe.Killed(pid); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the shell never exited")
				}
			}
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			r := <-res
			if r.Err != nil || r.HeldOpen || !json.Valid(out.Bytes()) {
				t.Fatalf("Result = %+v, stdout %q; want the answer completed within the grace", r, out.Bytes())
			}
		})
	}
}

func TestRunSaysWhenAnAnswerIsHeldOpen(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			var out LimitedBuffer
			out.Max = 1024
			r := run(context.Background(), Cmd{Line: "(exec sleep 60) & echo $! > " + pidFile + `; printf '{"a": '`,
				Stdout: &out, Complete: jsonComplete, Grace: 100 * time.Millisecond}, s.start)
			if r.Err != nil || r.ExitCode != 0 || !r.HeldOpen {
				t.Fatalf("Result = %+v, want exit 0 with the answer held open", r)
			}
			assertKilled(t, "the straggler", pidOf(t, pidFile))
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	for _, s := range strategies {
		for _, tc := range []struct {
			name, line string
			code       int
			signal     syscall.Signal
			stderr     string
		}{
			// Nothing holds its output once it exited, the reaper included.
			{"exit 0", "echo done >&2", 0, 0, "done\n"},
			{"exit 3", "exit 3", 3, 0, ""},
			{"killed", "kill -9 $$", -1, syscall.SIGKILL, ""},
			// Its stderr is read to the end although a straggler held it.
			{"exit 3 with a straggler", "(exec sleep 60) & echo $! > PID; echo oops >&2; exit 3", 3, 0, "oops\n"},
		} {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				pidFile := filepath.Join(t.TempDir(), "pid")
				var stderr LimitedBuffer
				stderr.Max = 1024
				r := run(context.Background(), Cmd{Line: strings.ReplaceAll(tc.line, "PID", pidFile), Stderr: &stderr}, s.start)
				if r.Err != nil || r.ExitCode != tc.code || r.Signal != tc.signal || r.HeldOpen || string(stderr.Bytes()) != tc.stderr {
					t.Fatalf("Result = %+v, stderr %q; want code %d, signal %d, stderr %q", r, stderr.Bytes(), tc.code, tc.signal, tc.stderr)
				}
				if strings.Contains(tc.line, "PID") {
					assertKilled(t, "the straggler", pidOf(t, pidFile))
				}
			})
		}
	}
}

// TestRunGivesUpOnAnEscapee: where a process escapes the kill (other Unix
// systems: setsid), Run does not wait for it to let go of the output.
func TestRunGivesUpOnAnEscapee(t *testing.T) {
	needSetsid(t)
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			start := time.Now()
			r := run(context.Background(), Cmd{Line: "setsid sleep 60 & echo $! > " + pidFile + "; exit 3"}, s.start)
			pidOf(t, pidFile)
			if took := time.Since(start); took > 30*time.Second || r.ExitCode != 3 {
				t.Fatalf("Run = %+v after %s; want exit status 3 within the drain bound", r, took)
			}
		})
	}
}

// TestRunEndsOnlyItsOwnProcesses: of two runs under way at once, the one
// that ends first leaves the other's processes alone.
func TestRunEndsOnlyItsOwnProcesses(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			pidA, pidB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			ctxB, cancelB := context.WithCancel(context.Background())
			defer cancelB()
			// Where escapees are caught, the children escape.
			child := "sleep 60"
			if catchesEscapees(s.name) {
				child = "setsid sleep 60"
			}
			a := runAsync(context.Background(), Cmd{Line: child + " & echo $! > " + pidA + "; read x < " + fifo + `; echo '{}'`,
				Stdout: &LimitedBuffer{Max: 64}, Complete: jsonComplete}, s.start)
			b := runAsync(ctxB, Cmd{Line: child + " & echo $! > " + pidB + "; wait"}, s.start)
			childA, childB := pidOf(t, pidA), pidOf(t, pidB)
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // A goes on
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if r := <-a; r.Err != nil || r.ExitCode != 0 || r.HeldOpen {
				t.Fatalf("run A: %+v", r)
			}
			assertKilled(t, "run A's child", childA)
			if ok, _ := testprobe.Killed(childB); ok {
				t.Fatal("the end of run A killed run B's child")
			}
			cancelB()
			<-b
			assertKilled(t, "run B's child", childB)
		})
	}
}

func TestRunWithoutAShell(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if r := Run(context.Background(), Cmd{Line: "true"}); !errors.Is(r.Err, exec.ErrNotFound) {
		t.Fatalf("Err = %v, want exec.ErrNotFound", r.Err)
	}
}

// TestRunsAtOnce: runs under way at once share nothing (run with -race).
func TestRunsAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var out LimitedBuffer
			out.Max = 64
			want := strconv.Itoa(i)
			if r := Run(context.Background(), Cmd{Line: "echo " + want, Stdout: &out}); r.Err != nil || strings.TrimSpace(string(out.Bytes())) != want {
				t.Errorf("run %d: %+v, stdout %q", i, r, out.Bytes())
			}
		})
	}
	wg.Wait()
}
