// Command gendocs writes codecommitd's man pages from its cobra command
// tree, for the packages: go run ./internal/cmd/gendocs DIR. It is a
// separate program so the daemon does not link the man-page renderer.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"

	"github.com/codecommitd/codecommitd/internal/admin"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := admin.NewRootCommand()
	root.DisableAutoGenTag = true
	return doc.GenManTree(root, &doc.GenManHeader{Title: "CODECOMMITD", Section: "1", Source: "codecommitd " + root.Version}, dir)
}
