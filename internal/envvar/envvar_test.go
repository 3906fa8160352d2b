package envvar

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README's environment tables from the declarations")

// The README block this package's declarations render.
const (
	readmeStart = "<!-- envvar: generated from internal/envvar/vars.go by go test ./internal/envvar -update; edit there -->\n"
	readmeEnd   = "<!-- envvar: end -->\n"
)

// intro is what README says above each section's table.
var intro = map[Section]string{
	InRequest: "Read by the helpers and passed to the daemon with each request (the daemon does not share git's environment, so these are always the caller's):",
	InHelpers: "Read by the helpers themselves:",
	InDaemon:  "Read by the daemon (its own environment, e.g. the service manager's):",
	InKept:    "Not read by codecommitd itself, but kept by a daemon the helper starts, for the programs it runs:",
}

// render returns README's block: a table per section, a row per run of
// variables with one meaning, then the environment a daemon the helpers
// start keeps.
func render() string {
	var b strings.Builder
	b.WriteString(readmeStart)
	for _, s := range []Section{InRequest, InHelpers, InDaemon, InKept} {
		b.WriteString("\n" + intro[s] + "\n\n| variable | meaning |\n|---|---|\n")
		var names []string
		for i, v := range All {
			if v.Section != s {
				continue
			}
			names = append(names, "`"+v.Name+"`")
			if next := i + 1; next < len(All) && All[next].Section == s && All[next].Meaning == v.Meaning {
				continue
			}
			cell := strings.Join(names, ", ")
			if v.AnyCase {
				cell += " (or lower case)"
			}
			b.WriteString("| " + cell + " | " + v.Meaning + " |\n")
			names = nil
		}
	}
	var kept, windows []string
	for _, v := range All {
		switch {
		case !v.ReadBy(Kept):
		case v.Windows:
			windows = append(windows, "`"+v.Name+"`")
		default:
			kept = append(kept, "`"+v.Name+"`")
		}
	}
	b.WriteString("\nA daemon the helper starts on demand gets only these from git's environment: " + strings.Join(kept, ", ") +
		" (the proxies in lower case too); on Windows also " + strings.Join(windows, ", ") + ".\n")
	b.WriteString(readmeEnd)
	return b.String()
}

// TestREADME: README lists every variable, with its meaning, exactly as
// declared here (-update writes it).
func TestREADME(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start, end := strings.Index(readme, readmeStart), strings.Index(readme, readmeEnd)
	if start < 0 || end < start {
		t.Fatalf("README has no block between %q and %q", readmeStart, readmeEnd)
	}
	got, want := readme[start:end+len(readmeEnd)], render()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:start]+want+readme[end+len(readmeEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README's environment tables are not what internal/envvar declares; run go test ./internal/envvar -update\n got:\n%s\nwant:\n%s", got, want)
}

func TestDeclarations(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range All {
		if seen[v.Name] {
			t.Errorf("%s is declared twice", v.Name)
		}
		seen[v.Name] = true
		if v.Meaning == "" || v.Section == 0 || v.Readers == 0 {
			t.Errorf("%s: no meaning, section or reader", v.Name)
		}
		if v.Path && !v.ReadBy(Request) {
			t.Errorf("%s: Path is for variables a request carries", v.Name)
		}
		if v.ReadBy(Request) && (v.Section != InRequest || strings.HasSuffix(v.Name, "*")) {
			t.Errorf("%s: a request carries named variables, listed under its section", v.Name)
		}
		if got, ok := Lookup(v.Name); !ok || got.Name != v.Name {
			t.Errorf("Lookup(%s) = %s, %v: another declaration shadows it", v.Name, got.Name, ok)
		}
	}
	// Secrets are carried by requests, or kept for credential_process,
	// but never shown.
	for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		if v, ok := Lookup(name); !ok || v.ReadBy(Shown) || (v.ReadBy(Kept) != (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
			t.Errorf("%s: %+v", name, v)
		}
	}
}

func TestFilter(t *testing.T) {
	environ := []string{"https_proxy=http://p", "HTTPS_PROXY=http://q", "LC_ALL=C", "AWS_ENDPOINT_URL_STS=http://s",
		"AWS_PROFILE=x", "GIT_DIR=/r", "HOMEX=/h", "LC=nope", "CODECOMMITD_KEYRING=0", "FTP_PROXY=http://f"}
	got := strings.Join(Filter(environ, Kept), " ")
	if want := "https_proxy=http://p HTTPS_PROXY=http://q LC_ALL=C AWS_ENDPOINT_URL_STS=http://s CODECOMMITD_KEYRING=0"; got != want {
		t.Errorf("Filter(Kept)\n got %s\nwant %s", got, want)
	}
	if got := Filter(environ, Request|Helper); len(got) != 0 {
		t.Errorf("Filter(Request|Helper) = %q: nothing here is read by both", got)
	}
	shown := Values([]string{"HTTPS_PROXY=u:p@h", "AWS_CONTAINER_AUTHORIZATION_TOKEN=t", "HOME=/h"}, Shown,
		func(name, value string) string { return name + ":" + value })
	if len(shown) != 2 || shown["HTTPS_PROXY"] != "HTTPS_PROXY:u:p@h" || shown["HOME"] != "HOME:/h" {
		t.Errorf("Values(Shown) = %v", shown)
	}
}

// Folders of test stand-ins and tools: what they set is for the programs
// they run (git, the stand-ins), not read by codecommitd.
var standIns = []string{"internal/e2e", "internal/testenv", "internal/fakests", "internal/gitserver", "internal/wanlink",
	"internal/testprobe", "internal/testbrowser", "internal/cmd", "internal/credmgr/credmgrtest", "tools"}

var varName = regexp.MustCompile(`^(AWS|CODECOMMITD|CODE_COMMIT|GIT|SSH|XDG|SSL)_[A-Z0-9_]+$`)

// TestNamesAreDeclaredOnce: codecommitd's own variables are named in a
// string only here (elsewhere the constants stand for them), and every
// variable codecommitd's packages name in a string is declared.
func TestNamesAreDeclaredOnce(t *testing.T) {
	root, _ := filepath.Abs("../..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." || rel == "bin" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(rel, "internal/envvar/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		standIn := false
		for _, dir := range standIns {
			standIn = standIn || strings.HasPrefix(rel, dir+"/")
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if strings.Contains(s, "CODECOMMITD_") {
				t.Errorf("%s: %q names a variable of codecommitd's; use the envvar constant", fset.Position(lit.Pos()), s)
			}
			if _, ok := Lookup(s); varName.MatchString(s) && !ok && !standIn {
				t.Errorf("%s: %s is read but not declared in internal/envvar/vars.go", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
