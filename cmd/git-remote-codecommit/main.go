// Command git-remote-codecommit is the git remote helper for codecommit://
// URLs. See package remotehelper.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/codecommitd/codecommitd/internal/remotehelper"
)

func main() {
	// One P: the helper does one request and execs git, and a single
	// scheduler thread saves thread start-ups and hand-offs (measured:
	// first RPC 1.0 ms → 0.6 ms; see README, Performance).
	runtime.GOMAXPROCS(1)
	if err := remotehelper.Run(context.Background(), remotehelper.Config{Args: os.Args[1:]}); err != nil {
		fmt.Fprintln(os.Stderr, "git-remote-codecommit:", err)
		os.Exit(1)
	}
}
