package admin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/codecommitd/codecommitd/cache"
	"github.com/codecommitd/codecommitd/daemon"
	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitversion"
	"github.com/codecommitd/codecommitd/internal/paths"
	"github.com/codecommitd/codecommitd/internal/privdir"
	"github.com/codecommitd/codecommitd/internal/sockpath"
)

// kept is one file codecommitd keeps, and what it is for people.
type kept struct{ path, what string }

// keptFiles lists the files codecommitd keeps in its default places (a
// --cache, --key-file or --log-file given to a daemon is the user's own to
// remove): the cache and its notes and set-aside copies, the runtime key
// file, the log, the cache of git's version, and the socket and lock a
// killed daemon left.
func keptFiles(socket string) []kept {
	db := paths.CacheFile()
	files := []kept{{db, "the credential cache"}, {db + ".owner", "the note of who holds the cache"}}
	aside, _ := filepath.Glob(db + ".unreadable-*")
	for _, a := range aside {
		files = append(files, kept{a, "a credential cache set aside"})
	}
	files = append(files,
		kept{cache.RuntimeKeyFile(sockpath.RuntimeDir(os.Getenv)), "the cache's key"},
		kept{paths.LogFile(), "the daemon's log"}, kept{paths.LogFile() + ".1", "the daemon's previous log"})
	if d := gitversion.CacheDir(os.Getenv); d != "" {
		files = append(files, kept{filepath.Join(d, "git-versions"), "the cache of git's version"})
	}
	return append(files, kept{socket, "the socket of a daemon that is gone"}, kept{daemon.LockPath(socket), "the lock file of a daemon that is gone"})
}

// keptState says what uninstall without --purge leaves: the credential
// cache and the log, where they are; "" when neither is there.
func keptState() string {
	var what []string
	for _, f := range []kept{{paths.CacheFile(), "the credential cache"}, {paths.LogFile(), "the daemon's log"}} {
		if _, err := os.Lstat(f.path); err == nil {
			what = append(what, f.what+" "+f.path)
		}
	}
	return strings.Join(what, " and ")
}

// purgeState removes what codecommitd keeps (keptFiles), once no daemon
// runs: the cache's key where the cache records it (the keyring entry, or
// the runtime key file; a --key-file is named, not removed), then each file,
// then each of its folders that is left empty. It removes nothing in a
// folder that is not a private one of this user's, nothing but files of the
// names it makes, and says each thing it removed or left.
func purgeState(ctx context.Context, out io.Writer, socket string) error {
	if _, pid, err := askStatus(ctx, socket); err == nil || stuck(err) {
		which := ""
		if pid > 0 {
			which = fmt.Sprintf("pid %d; ", pid)
		}
		return fmt.Errorf("a daemon runs on %s again (%sgit started it meanwhile?); nothing was purged: run codecommitd uninstall --purge again", socket, which)
	}
	removed := 0
	recorded, _ := cache.Inspect(paths.CacheFile())
	inKeyring, keyFile := cache.KeyPlace(recorded)
	switch {
	case inKeyring && os.Getenv(envvar.Keyring) == "0":
		fmt.Fprintf(out, "left the cache's key in the OS keyring (%s=0 keeps codecommitd away from it)\n", envvar.Keyring)
	case inKeyring:
		if err := cache.DeleteKeyringKey(); err != nil {
			fmt.Fprintf(out, "left the cache's key in the OS keyring: it did not answer (%v)\n", err)
		} else {
			fmt.Fprintln(out, "removed the cache's key from the OS keyring")
			removed++
		}
	case keyFile != "" && keyFile != cache.RuntimeKeyFile(sockpath.RuntimeDir(os.Getenv)):
		fmt.Fprintf(out, "left the key file %s: it was chosen with --key-file; remove it yourself once nothing needs it\n", keyFile)
	}
	var dirs []string
	refused := map[string]bool{}
	for _, f := range keptFiles(socket) {
		dir := filepath.Dir(f.path)
		fi, err := os.Lstat(f.path)
		if err != nil || fi.IsDir() {
			continue
		}
		if err := privdir.Check(dir); err != nil {
			if !refused[dir] {
				refused[dir] = true
				fmt.Fprintf(out, "left what is in %s: %v\n", dir, err)
			}
			continue
		}
		if err := os.Remove(f.path); err != nil {
			fmt.Fprintf(out, "could not remove %s (%s): %v\n", f.path, f.what, err)
			continue
		}
		fmt.Fprintf(out, "removed %s (%s)\n", f.path, f.what)
		removed++
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		if !strings.HasPrefix(filepath.Base(dir), "codecommitd") {
			continue // a folder the user chose (CODECOMMITD_SOCKET): theirs
		}
		if err := os.Remove(dir); err == nil {
			fmt.Fprintf(out, "removed %s\n", dir)
			continue
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		fmt.Fprintf(out, "left %s: it also holds %s, which codecommitd did not make\n", dir, strings.Join(names, ", "))
	}
	if removed == 0 {
		fmt.Fprintln(out, "nothing of codecommitd's was left to remove")
	}
	return nil
}
