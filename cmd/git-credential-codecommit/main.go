// Command git-credential-codecommit is a git credential helper for AWS
// CodeCommit https:// URLs. See package credhelper.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/codecommitd/codecommitd/internal/credhelper"
)

func main() {
	runtime.GOMAXPROCS(1) // one request and out, like git-remote-codecommit
	if err := credhelper.Run(context.Background(), credhelper.Config{Args: os.Args[1:]}); err != nil {
		fmt.Fprintln(os.Stderr, "git-credential-codecommit:", err)
		os.Exit(1)
	}
}
