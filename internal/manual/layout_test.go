package manual

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// readme returns README.md's lines.
func readme(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestREADMELayoutNamesEveryPackageOnce: the Layout block lists every Go
// package of the module under exactly one entry ("daemon/" covers daemon
// and what is below it, "internal/sso" only itself), and no entry twice.
func TestREADMELayoutNamesEveryPackageOnce(t *testing.T) {
	lines := readme(t)
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Layout (") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("README has no Layout paragraph")
	}
	for start < len(lines) && lines[start] != "```" {
		start++
	}
	var entries []string
	seen := map[string]bool{}
	for _, l := range lines[start+1:] {
		if l == "```" {
			break
		}
		if l == "" || strings.HasPrefix(l, " ") {
			continue // a continuation line
		}
		names, _, _ := strings.Cut(l, "  ")
		for _, n := range strings.Split(strings.TrimSpace(names), ", ") {
			if seen[n] {
				t.Errorf("README's Layout lists %s twice", n)
			}
			seen[n] = true
			entries = append(entries, n)
		}
	}
	cmd := exec.Command("go", "list", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/codecommitd/codecommitd/"
	for _, pkg := range strings.Fields(string(out)) {
		dir := strings.TrimPrefix(pkg, module)
		var by []string
		for _, e := range entries {
			if e == dir || strings.HasSuffix(e, "/") && strings.HasPrefix(dir+"/", e) {
				by = append(by, e)
			}
		}
		if len(by) != 1 {
			t.Errorf("package %s is listed under %d entries of README's Layout (%v), want 1", dir, len(by), by)
		}
	}
}

// TestREADMETablesAndBlocksAreWhole: no table row sits in a code block, and
// a table ends with a blank line, not with a line of something else (what a
// bad merge leaves).
func TestREADMETablesAndBlocksAreWhole(t *testing.T) {
	lines := readme(t)
	inBlock := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inBlock = !inBlock
			continue
		}
		row := strings.HasPrefix(l, "|")
		switch {
		case inBlock && row:
			t.Errorf("README.md:%d: a table row inside a code block: %.80s", i+1, l)
		case !inBlock && !row && l != "" && i > 0 && strings.HasPrefix(lines[i-1], "|"):
			t.Errorf("README.md:%d: a line that is not a row, right after a table row: %.80s", i+1, l)
		}
	}
}
