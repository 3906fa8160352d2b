package svcmgr

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and packaging/ from the renderers")

// golden compares got with the file at path, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/svcmgr -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the renderer (run go test ./internal/svcmgr -update and review):\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	golden(t, "testdata/codecommitd.service.golden", Unit("/home/me/.local/bin/codecommitd"))
	golden(t, "testdata/codecommitd.plist.golden", Plist("/Users/me/.local/bin/codecommitd", "/Users/me/Library/Logs/codecommitd"))
	// What the packages ship is the same renderer's output.
	golden(t, "../../packaging/systemd/codecommitd.service", Unit("/usr/bin/codecommitd"))
	golden(t, "../../packaging/launchd/codecommitd.plist", Plist("/usr/local/bin/codecommitd", "/usr/local/var/log/codecommitd"))
}

func TestUnitSaysWhatTheIssueAsks(t *testing.T) {
	u := Unit("/opt/my tools/codecommitd")
	for _, want := range []string{
		`ExecStart="/opt/my tools/codecommitd" run`, "WantedBy=default.target", "Restart=on-failure", "LimitCORE=0", "UMask=0077",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("unit lacks %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "multi-user.target") || strings.Contains(u, "{{") {
		t.Errorf("unit would not start as a user unit, or holds template syntax:\n%s", u)
	}
}

func TestUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	exe, _ := os.Executable() // an executable that exists
	dir := t.TempDir()
	path := filepath.Join(dir, Name+".service")
	os.WriteFile(path, []byte(Unit(exe)), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	// systemd-analyze only warns about what it ignores: any output is a
	// finding.
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestPlistIsWellFormed(t *testing.T) {
	p := Plist(`/Users/a&b/bin/codecommitd`, "/Users/a&b/Library/Logs/codecommitd")
	d := xml.NewDecoder(strings.NewReader(p))
	d.Strict = true
	var keys []string
	var inKey bool
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, p)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inKey = v.Name.Local == "key"
		case xml.CharData:
			if inKey {
				keys = append(keys, string(v))
			}
		case xml.EndElement:
			inKey = false
		}
	}
	for _, want := range []string{"Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "StandardOutPath", "StandardErrorPath"} {
		if !strings.Contains(strings.Join(keys, " "), want) {
			t.Errorf("plist lacks key %s", want)
		}
	}
	if !strings.Contains(p, "<string>/Users/a&amp;b/bin/codecommitd</string>") || !strings.Contains(p, "/Users/a&amp;b/Library/Logs/codecommitd/codecommitd.log") {
		t.Errorf("paths not escaped or logs misplaced:\n%s", p)
	}
}

func TestRender(t *testing.T) {
	c := Config{Exe: "/x/codecommitd", Home: "/home/me", LogDir: "/home/me/Library/Logs/codecommitd"}
	for goos, want := range map[string]string{
		"linux":  "/home/me/.config/systemd/user/codecommitd.service",
		"darwin": "/home/me/Library/LaunchAgents/codecommitd.plist",
	} {
		c.GOOS = goos
		r, err := Render(c)
		if err != nil || r.Path != want {
			t.Errorf("%s: %v, %v; want %s", goos, r.Path, err, want)
		}
	}
	c.GOOS = "plan9"
	if _, err := Render(c); err == nil {
		t.Error("plan9: no error")
	}
}

func TestManagedStopTwiceDoesNotPanic(t *testing.T) {
	m := &managed{stop: make(chan struct{}), done: make(chan error, 1)}
	if err := m.Stop(nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.stop:
	default:
		t.Fatal("Stop did not signal")
	}
}
