package shell

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// endBound is how long end waits for a reaper to kill and reap everything
// before it kills the reaper's process group itself.
const endBound = 5 * time.Second

// errReaperLost says the reaper ended without saying how the shell ended:
// someone killed it.
var errReaperLost = errors.New("the reaper that ran it ended unexpectedly")

// startTree starts the shell under a reaper of its own; where none can be
// started (no /proc), in a process group of its own.
func startTree(path string, argv, env []string, stdout, stderr *os.File) (tree, error) {
	if t, err := startReaped(path, argv, env, stdout, stderr); err == nil {
		return t, nil
	}
	return startDirect(path, argv, env, stdout, stderr)
}

// reapedTree is a shell run by a reaper (reaper_linux.go). The reaper
// writes how the shell ended to the status pipe, and kills and reaps
// everything the shell started when the control pipe ends: when end closes
// it, or when this process dies.
type reapedTree struct {
	cmd     *exec.Cmd
	control *os.File
	done    chan struct{} // the status was read
	x       exit
	waited  chan struct{} // the reaper exited
}

func startReaped(path string, argv, env []string, stdout, stderr *os.File) (tree, error) {
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	controlR, controlW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		statusW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		// The running executable, even if it was replaced on disk since.
		Path:        "/proc/self/exe",
		Args:        append([]string{reaperName, path}, argv...),
		Env:         append(slices.Clip(env), envvar.Reaper+"=1"),
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{statusW, controlR}, // fds 3 and 4
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	statusW.Close()
	controlR.Close()
	if err != nil {
		statusR.Close()
		controlW.Close()
		return nil, err
	}
	t := &reapedTree{cmd: cmd, control: controlW, done: make(chan struct{}), waited: make(chan struct{})}
	go func() {
		defer close(t.done)
		// The reaper closes its end once it has written the status, and
		// nothing else holds it.
		b, _ := io.ReadAll(io.LimitReader(statusR, 64))
		statusR.Close()
		t.x = parseStatus(b)
	}()
	go func() {
		defer close(t.waited)
		_ = cmd.Wait() // ProcessState says it
	}()
	return t, nil
}

func (t *reapedTree) exited() <-chan struct{} { return t.done }
func (t *reapedTree) status() exit            { return t.x }

func (t *reapedTree) end() {
	t.control.Close()
	timer := time.NewTimer(endBound)
	defer timer.Stop()
	select {
	case <-t.waited:
		if t.cmd.ProcessState.Success() {
			// It exits 0 only once nothing it reaped for is left.
			<-t.done
			return
		}
	case <-timer.C:
	}
	// The reaper was killed, or is stuck: what is left of its process
	// group (the shell, unless it left it) goes now.
	killGroup(t.cmd.Process)
	<-t.waited
	<-t.done
}

// The reaper's status line: "exit <wait status>" once the shell has ended,
// or "error <errno>" when it could not be started.

func formatStatus(ws syscall.WaitStatus) string { return fmt.Sprintf("exit %d\n", uint32(ws)) }

func formatStartError(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.EINVAL
	}
	return fmt.Sprintf("error %d\n", uint32(errno))
}

// parseStatus reads a status line.
func parseStatus(b []byte) exit {
	word, num, _ := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	n, err := strconv.ParseUint(num, 10, 32)
	switch {
	case err != nil:
		return exit{err: errReaperLost}
	case word == "error":
		return exit{err: fmt.Errorf("starting the shell: %w", syscall.Errno(n))}
	case word != "exit":
		return exit{err: errReaperLost}
	}
	ws := syscall.WaitStatus(n)
	switch {
	case ws.Exited():
		return exit{code: ws.ExitStatus()}
	case ws.Signaled():
		return exit{code: -1, signal: ws.Signal()}
	}
	return exit{err: errReaperLost}
}
