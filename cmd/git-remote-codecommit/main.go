// Command git-remote-codecommit is the git remote helper for codecommit://
// URLs. See package remotehelper.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/codecommitd/codecommitd/internal/remotehelper"
)

func main() {
	// One P: the helper does one request and runs git, and a single
	// scheduler thread saves thread start-ups and hand-offs (measured:
	// first RPC 1.0 ms → 0.6 ms; see README, Performance).
	runtime.GOMAXPROCS(1)
	err := remotehelper.Run(context.Background(), remotehelper.Config{Args: os.Args[1:]})
	var exit remotehelper.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit)) // git remote-http's own status; it has said why
	case err != nil:
		fmt.Fprintln(os.Stderr, "git-remote-codecommit:", err)
		os.Exit(1)
	}
}
