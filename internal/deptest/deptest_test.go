// Package deptest checks what each binary links. The helper binaries git
// runs on every operation stay thin: none of them may link the AWS SDK,
// bbolt, the INI parser, cobra or the testing package, whose package
// initialisation every git call would pay for. And no binary links the test
// stand-ins (the fake STS, the fake git server, the WAN link, the test
// world, the headless browser driver) or testing.
package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

var forbidden = []string{
	"github.com/aws/",
	"go.etcd.io/bbolt",
	"gopkg.in/ini.v1",
	"github.com/spf13/cobra",
	"github.com/zalando/go-keyring",
	"github.com/kardianos/service",
	"testing",
	"golang.org/x/net/trace", // kept out by the grpcnotrace build tag
}

// standIns are the test stand-ins and test-only packages no shipped binary
// may contain.
var standIns = []string{
	"github.com/codecommitd/codecommitd/internal/credmgr/credmgrtest",
	"github.com/codecommitd/codecommitd/internal/fakests",
	"github.com/codecommitd/codecommitd/internal/gitserver",
	"github.com/codecommitd/codecommitd/internal/testprobe",
	"github.com/codecommitd/codecommitd/internal/testenv",
	"github.com/codecommitd/codecommitd/internal/testbrowser",
	"github.com/chromedp/", // the browser driver of testbrowser
	"github.com/codecommitd/codecommitd/internal/wanlink",
	"testing",
	"net/http/httptest",
}

func deps(t *testing.T, pkg, goos string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", pkg)
	cmd.Env = append(cmd.Environ(), "GOOS="+goos)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s (GOOS=%s): %v", pkg, goos, err)
	}
	return strings.Fields(string(out))
}

func matches(dep, bad string) bool {
	return dep == bad || strings.HasPrefix(dep, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad))
}

func TestDaemonLinksNoStandIns(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, dep := range deps(t, "github.com/codecommitd/codecommitd/cmd/codecommitd", goos) {
			for _, bad := range standIns {
				if matches(dep, bad) {
					t.Errorf("cmd/codecommitd (GOOS=%s) depends on %s", goos, dep)
				}
			}
		}
	}
}

func TestHelpersAreThin(t *testing.T) {
	for _, pkg := range []string{
		"github.com/codecommitd/codecommitd/cmd/git-remote-codecommit",
		"github.com/codecommitd/codecommitd/cmd/git-credential-codecommit",
	} {
		for _, goos := range []string{"linux", "darwin", "windows"} {
			for _, dep := range deps(t, pkg, goos) {
				for _, bad := range append(forbidden, standIns...) {
					if matches(dep, bad) {
						t.Errorf("%s (GOOS=%s) depends on %s", pkg, goos, dep)
					}
				}
			}
		}
	}
}
