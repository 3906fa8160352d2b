package remotehelper

import (
	"errors"
	"os"
	"os/exec"
)

// execGit runs git with our stdio and exits with its exit code: Windows
// cannot replace a process.
func execGit(argv0 string, argv, env []string) error {
	cmd := exec.Command(argv0, argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		return err
	}
	os.Exit(0)
	return nil
}
