//go:build unix

package sockpath

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestCheckTakesASocketAndALinkToOne(t *testing.T) {
	dir := testprobe.ShortDir(t)
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := filepath.Join(dir, "link")
	os.Symlink(sock, link)
	for _, p := range []string{sock, link} {
		if err := Check(p); err != nil {
			t.Errorf("Check(%s) = %v", p, err)
		}
	}
}
