package shell

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// A reaper is this executable started again by startReaped: argv[0] names
// it, the variable envvar.Reaper confirms it, argv[1] is the program to run
// and argv[2:] its arguments, and fds 3 and 4 are its status and control
// pipes.
const reaperName = "codecommitd-reaper"

// init turns a process started as a reaper into one, before anything else
// of the program runs.
func init() {
	if len(os.Args) < 3 || os.Args[0] != reaperName || os.Getenv(envvar.Reaper) != "1" {
		return
	}
	// Nothing is buffered or deferred; syscall.Exit also spares a binary
	// built with -race the race detector's second at exit, which Run
	// would wait out.
	syscall.Exit(reap(os.Args[1], os.Args[2:]))
}

// reap runs the program as a child subreaper: orphans of its descendants
// become its children, never init's, so everything the program starts
// stays below it whatever it does. It reaps every child that ends, reports
// how the program ended on the status pipe, and when the control pipe ends
// (or it gets SIGTERM, SIGINT or SIGHUP) it kills its children until none
// is left, and exits 0.
func reap(path string, argv []string) int {
	// Neither pipe is for the program.
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	status, control := os.NewFile(3, "status"), os.NewFile(4, "control")
	// Without it (a kernel before 3.4) orphans go to init, and only what
	// stays in the process group is killed (tree_linux.go).
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	finish := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, control)
		close(finish)
	}()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, envvar.Reaper+"=") })
	shell, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		io.WriteString(status, formatStartError(err))
		return 0
	}
	// The output is the shell's: once it and what it started are done
	// with it, it must end although the reaper runs on.
	if null, err := os.Open(os.DevNull); err == nil {
		for fd := range 3 {
			_ = unix.Dup3(int(null.Fd()), fd, 0)
		}
		null.Close()
	}
	ending := false
	for {
		left := reapEnded(shell, status)
		if ending {
			if !left {
				return 0
			}
			killChildren()
		}
		// A child that ends after reapEnded looked leaves a SIGCHLD here.
		select {
		case <-children:
		case <-finish:
			finish, ending = nil, true
		case <-stop:
			ending = true
		}
	}
}

// reapEnded reaps every child that has ended, writing the shell's end to
// status, and reports whether children are left. A child's children are
// made this process's before the child can be reaped, so no children means
// no descendants.
func reapEnded(shell int, status *os.File) bool {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			return false // ECHILD
		case pid == 0:
			return true
		case pid == shell:
			io.WriteString(status, formatStatus(ws))
			status.Close()
		}
	}
}

// killChildren kills every living child. What they started becomes this
// process's children as they die, for the next round. Only this process
// reaps its children, and only in reapEnded, so a pid read here cannot be
// reused by another process before the kill lands.
func killChildren() {
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // it is gone
		}
		if state, ppid, ok := parseStat(b); ok && ppid == self && state != 'Z' {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// parseStat reads the state and the parent's pid from the text of
// /proc/<pid>/stat: "pid (name) state ppid …", where the name may hold
// spaces and parentheses.
func parseStat(b []byte) (state byte, ppid int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return 0, 0, false
	}
	return f[0][0], ppid, true
}
