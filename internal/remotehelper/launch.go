package remotehelper

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/sigv4"
)

// launch hands the connection to `git remote-http`.
func launch(cfg Config, remoteName string, s *broker.SignedURL) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("git is not on PATH: %w", err)
	}
	host, path := splitURL(s.URL)
	url := sigv4.Signed{Username: s.Username, Password: s.Password}.URL(host, path)
	return cfg.Exec(git, []string{"git", "remote-http", remoteName, url}, os.Environ())
}

// splitURL splits https://host/path into host and path.
func splitURL(u string) (host, path string) {
	rest := strings.TrimPrefix(u, "https://")
	host, path, _ = strings.Cut(rest, "/")
	return host, "/" + path
}
