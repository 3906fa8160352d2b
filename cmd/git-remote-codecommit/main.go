// Command git-remote-codecommit is the git remote helper for codecommit://
// URLs. See package remotehelper.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/codecommitd/codecommitd/internal/remotehelper"
)

func main() {
	if err := remotehelper.Run(context.Background(), remotehelper.Config{Args: os.Args[1:]}); err != nil {
		fmt.Fprintln(os.Stderr, "git-remote-codecommit:", err)
		os.Exit(1)
	}
}
