package shell

import (
	"os"
	"os/exec"
	"syscall"
)

// directTree runs the shell as this process's own child, in a process
// group of its own (Windows: a new process group), which end kills.
type directTree struct {
	cmd  *exec.Cmd
	done chan struct{}
	x    exit
}

func startDirect(path string, argv, env []string, stdout, stderr *os.File) (tree, error) {
	// Every stream is an *os.File, so os/exec copies nothing and Wait
	// returns when the shell exits, whoever else holds its output.
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdout: stdout, Stderr: stderr, SysProcAttr: groupAttr()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &directTree{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		if err := cmd.Wait(); cmd.ProcessState == nil {
			t.x = exit{err: err}
			return
		}
		t.x = exitOf(cmd.ProcessState)
	}()
	return t, nil
}

func (t *directTree) exited() <-chan struct{} { return t.done }
func (t *directTree) status() exit            { return t.x }

func (t *directTree) end() {
	killGroup(t.cmd.Process)
	<-t.done
}

// exitOf says how a process ended.
func exitOf(state *os.ProcessState) exit {
	x := exit{code: state.ExitCode()}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		x.signal = ws.Signal()
	}
	return x
}
