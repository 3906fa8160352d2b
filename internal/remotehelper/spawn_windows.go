package remotehelper

import (
	"errors"
	"os"
	"os/exec"
)

// spawnAndWait runs argv0 with this process's stdio and waits for it.
func spawnAndWait(argv0 string, argv, env []string) (int, error) {
	cmd := exec.Command(argv0, argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return exitCode(cmd.Run())
}

// gitOutput runs argv0 with this process's stdin and stderr, and returns
// its stdout and exit status.
func gitOutput(argv0 string, argv, env []string) ([]byte, int, error) {
	cmd := exec.Command(argv0, argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.Output()
	code, err := exitCode(err)
	return out, code, err
}

// exitCode is the exit status of a finished process, or an error.
func exitCode(err error) (int, error) {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}
