// Package sockpath decides where codecommitd's socket lives. Client and
// daemon both call Default, so they agree without configuration. It uses
// only the standard library: the helpers call it on every git operation.
package sockpath

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

// MaxLen is the longest socket path the kernel takes: sun_path is 104 bytes
// on macOS and the BSDs (108 on Linux), including the final NUL.
var MaxLen = func() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}()

// Default returns $CODECOMMITD_SOCKET, else codecommitd.sock in
// RuntimeDir.
func Default(getenv func(string) string) string {
	if p := getenv(envvar.Socket); p != "" {
		return p
	}
	return filepath.Join(RuntimeDir(getenv), "codecommitd.sock")
}

// RuntimeDir is codecommitd's runtime folder, home of the socket and of
// the cache key when no keyring answers: $XDG_RUNTIME_DIR/codecommitd;
// else, on Linux, /run/user/<uid>/codecommitd when /run/user/<uid> is this
// user's (logind makes it; su, cron and docker exec leave XDG_RUNTIME_DIR
// unset, and one user must still find one daemon and one key); else
// <temp dir>/codecommitd-<uid>.
func RuntimeDir(getenv func(string) string) string {
	if runtime.GOOS != "windows" {
		if d := getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "codecommitd")
		}
	}
	if runtime.GOOS == "linux" {
		if d := "/run/user/" + strconv.Itoa(os.Getuid()); ownDir(d) {
			return filepath.Join(d, "codecommitd")
		}
	}
	return filepath.Join(os.TempDir(), "codecommitd-"+userID())
}

func userID() string {
	if uid := os.Getuid(); uid >= 0 {
		return strconv.Itoa(uid)
	}
	// Windows has no uid; the user name keeps users apart.
	if u := os.Getenv("USERNAME"); u != "" {
		return u
	}
	return "user"
}

// Check reports a socket path that cannot be one, in one line that says
// what to do: longer than the kernel takes (bind and connect would only say
// "invalid argument"), or naming something that is not a socket (a regular
// file, a folder: connect would only say "connection refused", as for a
// socket left by a daemon that stopped). A path where nothing is yet is
// fine.
func Check(path string) error {
	if len(path) > MaxLen {
		return fmt.Errorf("socket path %s is %d bytes long; the limit here is %d (107 on Linux, 103 on macOS and the BSDs): choose a shorter path with %s or --socket", shorten(path), len(path), MaxLen, envvar.Socket)
	}
	fi, err := os.Stat(path) // a link to a socket is one, for a client
	if err != nil || fi.Mode()&fs.ModeSocket != 0 {
		return nil
	}
	return NotASocket(path, fi.Mode())
}

// shorten keeps a path of up to 2×MaxLen bytes whole, and of a longer one
// its first and last MaxLen/2 bytes, so that the line that names it stays
// short enough to be shown whole, fix included.
func shorten(path string) string {
	if len(path) <= 2*MaxLen {
		return path
	}
	return strings.ToValidUTF8(path[:MaxLen/2], "") + "…" + strings.ToValidUTF8(path[len(path)-MaxLen/2:], "")
}

// NotASocket is the one line for a socket path where something else is,
// of mode m.
func NotASocket(path string, m fs.FileMode) error {
	return fmt.Errorf("socket path %s is %s, not a socket; move it away, or choose another path with %s or --socket", path, kind(m), envvar.Socket)
}

// kind names what a file that is not a socket is.
func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
