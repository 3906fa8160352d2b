// Command gendocs writes the man pages of all three programs, for the
// packages and make install: go run ./internal/cmd/gendocs DIR. codecommitd's
// come from its cobra command tree; the helpers' from package manual, which
// their --help prints too. It is a separate program so that no binary links
// the man-page renderers.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/codecommitd/codecommitd/internal/admin"
	"github.com/codecommitd/codecommitd/internal/manual"
	"github.com/codecommitd/codecommitd/internal/version"
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
	keepPlaceholders(root)
	if err := doc.GenManTree(root, &doc.GenManHeader{Title: "CODECOMMITD", Section: "1", Source: "codecommitd " + root.Version}, dir); err != nil {
		return err
	}
	for _, p := range []*manual.Page{&manual.RemoteHelper, &manual.CredentialHelper} {
		if err := os.WriteFile(filepath.Join(dir, p.Name+".1"), []byte(roff(p, version.Version)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// markdownEscaper escapes what cobra's man pages would lose: they go
// through markdown (go-md2man), which takes <uid> and <codecommit-url> for
// HTML tags and drops them.
var markdownEscaper = strings.NewReplacer(`<`, `\<`, `>`, `\>`)

// keepPlaceholders escapes the texts of cmd and its subcommands, and of
// their flags, for markdown. The tree is this program's own.
func keepPlaceholders(cmd *cobra.Command) {
	cmd.Use = markdownEscaper.Replace(cmd.Use)
	cmd.Short = markdownEscaper.Replace(cmd.Short)
	cmd.Long = markdownEscaper.Replace(cmd.Long)
	cmd.Example = markdownEscaper.Replace(cmd.Example)
	escape := func(f *pflag.Flag) { f.Usage = markdownEscaper.Replace(f.Usage) }
	cmd.LocalNonPersistentFlags().VisitAll(escape)
	cmd.PersistentFlags().VisitAll(escape)
	for _, c := range cmd.Commands() {
		keepPlaceholders(c)
	}
}
