// Package deptest checks that the helper binaries git runs on every
// operation stay thin: none of them may link the AWS SDK, bbolt, the INI
// parser, cobra or the testing package, whose package initialisation every
// git call would pay for.
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

func TestHelpersAreThin(t *testing.T) {
	for _, pkg := range []string{
		"github.com/codecommitd/codecommitd/cmd/git-remote-codecommit",
		"github.com/codecommitd/codecommitd/cmd/git-credential-codecommit",
	} {
		for _, goos := range []string{"linux", "darwin", "windows"} {
			cmd := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", pkg)
			cmd.Env = append(cmd.Environ(), "GOOS="+goos)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list %s (GOOS=%s): %v", pkg, goos, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, bad := range forbidden {
					if dep == bad || strings.HasPrefix(dep, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
						t.Errorf("%s (GOOS=%s) depends on %s", pkg, goos, dep)
					}
				}
			}
		}
	}
}
