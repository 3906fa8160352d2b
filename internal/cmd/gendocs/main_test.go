package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/codecommitd/codecommitd/internal/admin"
	"github.com/codecommitd/codecommitd/internal/manual"
)

// placeholder is what a page's text holds in angle brackets: <uid>,
// <codecommit-url>, <remote-name>.
var placeholder = regexp.MustCompile(`<[a-z][a-z -]*>`)

// sources returns, per man page file, the texts it is rendered from.
func sources() map[string][]string {
	out := map[string][]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.HasParent() {
			return
		}
		texts := []string{c.Use, c.Short, c.Long, c.Example}
		visit := func(f *pflag.Flag) {
			if !f.Hidden {
				texts = append(texts, f.Usage)
			}
		}
		c.NonInheritedFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
		out[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = texts
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(admin.NewRootCommand())
	for _, p := range []*manual.Page{&manual.RemoteHelper, &manual.CredentialHelper} {
		texts := append(append([]string{p.Summary}, p.Synopsis...), p.Description...)
		for _, s := range p.Sections {
			texts = append(append(texts, s.Text...), s.Verbatim...)
			for _, it := range s.Items {
				texts = append(texts, it.Term, it.Text)
			}
		}
		for _, group := range p.Environment {
			for _, it := range group {
				texts = append(texts, it.Term, it.Text)
			}
		}
		out[p.Name+".1"] = texts
	}
	return out
}

// roffText is what a reader sees of roff source, near enough to find
// words in: fonts and escapes undone, requests dropped, lines joined.
func roffText(src string) string {
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, ".") {
			continue
		}
		lines = append(lines, l)
	}
	s := strings.Join(lines, " ")
	s = regexp.MustCompile(`\\f[BIRP]`).ReplaceAllString(s, "")
	return strings.NewReplacer(`\-`, "-", `\e`, `\`, `\&`, "", `\(aq`, "'", `\(cq`, "'").Replace(s)
}

// TestEveryManPageKeepsItsPlaceholders renders every man page, of all
// three programs, and checks that no placeholder of its sources is lost
// (as <uid> was: /run/user//codecommitd), with groff where it is installed
// and in the roff text everywhere.
func TestEveryManPageKeepsItsPlaceholders(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Log("groff is not installed: checking the roff text only")
	}
	src := sources()
	files, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{"codecommitd.1", "codecommitd-uninstall.1", "git-remote-codecommit.1", "git-credential-codecommit.1"} {
		if !slices.Contains(names, want) {
			t.Errorf("no man page %s among %v", want, names)
		}
	}
	for _, name := range names {
		texts, ok := src[name]
		if !ok {
			t.Errorf("%s: a page of no command", name)
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		rendered := map[string]string{"roff text": roffText(string(b))}
		if groff != "" {
			cmd := exec.Command(groff, "-man", "-Tutf8", "-P-cbou", filepath.Join(dir, name))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Errorf("%s: groff: %v\n%s", name, err, stderr.String())
			}
			rendered["groff"] = strings.Join(strings.Fields(string(out)), " ")
		}
		for _, text := range texts {
			for _, ph := range placeholder.FindAllString(text, -1) {
				ph = strings.Join(strings.Fields(ph), " ")
				for how, r := range rendered {
					if !strings.Contains(r, ph) {
						t.Errorf("%s (%s) lost the placeholder %s of %q", name, how, ph, text)
					}
				}
			}
		}
		for how, r := range rendered {
			if strings.Contains(r, "/run/user//") || strings.Contains(r, "  [flags]") {
				t.Errorf("%s (%s) lost a placeholder:\n%s", name, how, r)
			}
		}
	}
}
