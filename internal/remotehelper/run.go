package remotehelper

import (
	"os"
	"os/signal"
)

// runGit runs git with this process's stdio and waits for it. A Ctrl-C
// reaches git as it reaches this helper (one process group); the helper
// lets git decide what it means and exits with git's status.
func runGit(argv0 string, argv, env []string) (int, error) {
	signal.Ignore(os.Interrupt)
	defer signal.Reset(os.Interrupt)
	return spawnAndWait(argv0, argv, env)
}
