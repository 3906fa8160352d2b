//go:build unix

package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A placement is what may sit at a path codecommitd reads: put there by
// the user, by an older run, or by another user (the test builds those as
// root, with uid 65534).
type placement struct {
	name     string
	needRoot bool
	// put makes it at path; victim is a file of the user's that a link
	// may point to, and that must come out unchanged.
	put func(t *testing.T, path, victim string)
	// folder reports that the placement is about the folder, not the
	// file.
	folder bool
}

var placements = []placement{
	{name: "missing", put: func(*testing.T, string, string) {}},
	{name: "dangling link", put: func(t *testing.T, p, _ string) { must(t, os.Symlink(filepath.Join(filepath.Dir(p), "nowhere"), p)) }},
	{name: "link to another user's file", needRoot: true, put: func(t *testing.T, p, v string) {
		must(t, os.Chown(v, 65534, 65534))
		must(t, os.Symlink(v, p))
	}},
	{name: "FIFO", put: func(t *testing.T, p, _ string) { must(t, syscall.Mkfifo(p, 0o600)) }},
	{name: "directory", put: func(t *testing.T, p, _ string) { must(t, os.Mkdir(p, 0o700)) }},
	{name: "empty", put: func(t *testing.T, p, _ string) { must(t, os.WriteFile(p, nil, 0o600)) }},
	{name: "wrong length", put: func(t *testing.T, p, _ string) {
		must(t, os.WriteFile(p, []byte(encodeKey([]byte("short"))+"\n"), 0o600))
	}},
	{name: "not ours", needRoot: true, put: func(t *testing.T, p, _ string) {
		must(t, os.WriteFile(p, []byte(encodeKey(make([]byte, KeySize))+"\n"), 0o600))
		must(t, os.Chown(p, 65534, 65534))
	}},
	{name: "mode 644", put: func(t *testing.T, p, _ string) {
		must(t, os.WriteFile(p, []byte(encodeKey(make([]byte, KeySize))+"\n"), 0o600))
		must(t, os.Chmod(p, 0o644))
	}},
	{name: "folder 777", folder: true, put: func(t *testing.T, p, _ string) {
		must(t, os.Chmod(filepath.Dir(p), 0o777))
		must(t, os.WriteFile(p, []byte(encodeKey(make([]byte, KeySize))+"\n"), 0o600))
	}},
}

// placeAt makes a private folder holding pl at <folder>/name, and a victim
// file beside it; it returns the path and a function that fails the test
// if the victim changed.
func placeAt(t *testing.T, pl placement, name string) (path string, victimUnchanged func()) {
	t.Helper()
	if pl.needRoot && os.Getuid() != 0 {
		t.Skip("needs root to make a file of another user (uid 65534)")
	}
	root := privateDir(t)
	dir := filepath.Join(root, "codecommitd")
	must(t, os.Mkdir(dir, 0o700))
	victim := filepath.Join(root, "victim")
	must(t, os.WriteFile(victim, []byte("the user's own file\n"), 0o600))
	path = filepath.Join(dir, name)
	pl.put(t, path, victim)
	return path, func() {
		t.Helper()
		if b, err := os.ReadFile(victim); err != nil || string(b) != "the user's own file\n" {
			t.Errorf("the file a link pointed to was changed: %q, %v", b, err)
		}
	}
}

// within runs fn and fails the test if it does not return within a
// deadline far longer than any of it takes: nothing may wait on a FIFO.
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked (a FIFO opened for real?)")
	}
}

// oneLine fails the test unless err is a one-line error that says want.
func oneLine(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want one line saying %q", err, want)
	}
}

// wantKeyFile is what LoadKey says of a key file per placement.
var wantKeyFile = map[string]string{
	"dangling link":               "is a symbolic link",
	"link to another user's file": "is a symbolic link",
	"FIFO":                        "is not a regular file (a FIFO)",
	"directory":                   "is a directory",
	"empty":                       "not a base64 32-byte key",
	"wrong length":                "not a base64 32-byte key",
	"not ours":                    "belongs to uid 65534",
	"mode 644":                    "chmod 600",
}

// TestKeyFilePlacements is rows 2 and 3 of issue #17 for the key: a key
// file given with --key-file, one a cache records, and the runtime folder's
// own, each in every placement. Each is a one-line error or a clean
// fallback at once: never a wait on a FIFO, never a link followed, never
// the recursion a dangling link caused (O_EXCL says it exists, open says it
// does not).
func TestKeyFilePlacements(t *testing.T) {
	for _, pl := range placements {
		t.Run(pl.name, func(t *testing.T) {
			t.Run("--key-file", func(t *testing.T) {
				path, unchanged := placeAt(t, pl, "k")
				var k Key
				var err error
				within(t, func() { k, err = LoadKey(KeyOptions{File: path}) })
				switch {
				case pl.name == "missing":
					if err != nil || len(k.Bytes) != KeySize {
						t.Fatalf("a missing --key-file: %v; want it made", err)
					}
				case pl.folder:
					oneLine(t, err, "will not keep the cache key in "+filepath.Dir(path)+": it is open to other users")
				default:
					oneLine(t, err, "key file "+path)
					oneLine(t, err, wantKeyFile[pl.name])
				}
				unchanged()
			})
			t.Run("recorded", func(t *testing.T) {
				path, unchanged := placeAt(t, pl, "cache.key")
				runtimeDir := filepath.Join(privateDir(t), "elsewhere")
				var err error
				within(t, func() { _, err = LoadKey(KeyOptions{RuntimeDir: runtimeDir, Recorded: homeFile + path}) })
				switch {
				case pl.name == "missing":
					if !errors.Is(err, ErrKeyUnreachable) {
						t.Fatalf("a recorded key that is not there: %v, want ErrKeyUnreachable", err)
					}
				case pl.folder:
					if !errors.Is(err, ErrKeyUnreachable) {
						t.Errorf("a recorded key in a folder open to all: %v, want ErrKeyUnreachable", err)
					}
					oneLine(t, err, "whose folder "+filepath.Dir(path)+" is open to other users")
				default:
					oneLine(t, err, wantKeyFile[pl.name])
				}
				if _, serr := os.Stat(filepath.Join(runtimeDir, "cache.key")); serr == nil {
					t.Error("a new key was made although the cache records another")
				}
				unchanged()
			})
			t.Run("runtime folder", func(t *testing.T) {
				path, unchanged := placeAt(t, pl, "cache.key")
				var k Key
				var err error
				within(t, func() { k, err = LoadKey(KeyOptions{RuntimeDir: filepath.Dir(path)}) })
				switch {
				case pl.name == "missing":
					if err != nil || len(k.Bytes) != KeySize {
						t.Fatalf("no key yet: %v; want one made", err)
					}
				case pl.folder:
					if !errors.Is(err, ErrNoKey) {
						t.Errorf("runtime folder open to all: %v, want ErrNoKey", err)
					}
					oneLine(t, err, "will not keep the cache key in "+filepath.Dir(path))
				default:
					if !errors.Is(err, ErrNoKey) {
						t.Errorf("%v, want ErrNoKey (memory only)", err)
					}
					oneLine(t, err, wantKeyFile[pl.name])
				}
				unchanged()
			})
		})
	}
}

// TestAnotherUsersFolderAtTheRecordedKeyIsNotLookedInto is row 2 of issue
// #17 as it happened: the cache recorded its key in /tmp/codecommitd-<uid>
// (a run without XDG_RUNTIME_DIR); /tmp was emptied, and another user made
// that folder (0755, theirs) with a FIFO (0666) for cache.key. The key is
// not looked for there: ErrKeyUnreachable at once, naming the folder.
func TestAnotherUsersFolderAtTheRecordedKeyIsNotLookedInto(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make a folder of another user (uid 65534)")
	}
	dir := filepath.Join(privateDir(t), "codecommitd-0")
	must(t, os.Mkdir(dir, 0o755))
	must(t, syscall.Mkfifo(filepath.Join(dir, "cache.key"), 0o666))
	must(t, os.Chmod(filepath.Join(dir, "cache.key"), 0o666))
	must(t, os.Chown(filepath.Join(dir, "cache.key"), 65534, 65534))
	must(t, os.Chown(dir, 65534, 65534))
	for _, runtimeDir := range []string{dir, filepath.Join(privateDir(t), "codecommitd")} {
		var err error
		within(t, func() {
			_, err = LoadKey(KeyOptions{RuntimeDir: runtimeDir, Recorded: homeFile + filepath.Join(dir, "cache.key")})
		})
		if !errors.Is(err, ErrKeyUnreachable) {
			t.Errorf("runtime folder %s: %v, want ErrKeyUnreachable", runtimeDir, err)
		}
		oneLine(t, err, "whose folder "+dir+" belongs to uid 65534")
	}
}

// TestCachePlacements is row 6 of issue #17 and its kin for the cache
// file: Inspect and Open refuse, in one line and at once, a cache whose
// folder is open to others or whose file is not a regular 0600 file of
// ours; neither follows a link, and neither changes a folder it did not
// create.
func TestCachePlacements(t *testing.T) {
	for _, pl := range placements {
		t.Run(pl.name, func(t *testing.T) {
			path, unchanged := placeAt(t, pl, "cache.db")
			var inspectErr, openErr error
			var s *Store
			within(t, func() {
				_, inspectErr = Inspect(path)
				s, openErr = Open(path, testKey(t), Options{})
			})
			if s != nil {
				s.Close()
			}
			var want string
			switch pl.name {
			case "missing", "empty":
				// A new cache.
			case "wrong length", "mode 644":
				// Not a key here but a short file: damaged (set
				// aside); and a file open to others.
				if pl.name == "mode 644" {
					want = "chmod 600 " + path
				}
			case "folder 777":
				want = "will not keep the cache in " + filepath.Dir(path) + ": it is open to other users (mode drwxrwxrwx); choose a path in a private folder of your own with --cache"
				if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o777 {
					t.Errorf("the folder's mode was changed to %v", fi.Mode().Perm())
				}
			default:
				want = "will not use the cache " + path + " " + wantKeyFile[pl.name]
			}
			if want == "" {
				if openErr != nil {
					t.Errorf("Open: %v, want a cache", openErr)
				}
			} else {
				oneLine(t, inspectErr, want)
				oneLine(t, openErr, want)
			}
			unchanged()
		})
	}
}

// TestOwnerFileIsNeverWrittenThrough: a symlink at cache.db.owner (placed
// while the folder was open, or by the user) is replaced, not followed.
func TestOwnerFileIsNeverWrittenThrough(t *testing.T) {
	dir := privateDir(t)
	path := filepath.Join(dir, "cache.db")
	victim := filepath.Join(dir, "victim")
	must(t, os.WriteFile(victim, []byte("mine\n"), 0o600))
	must(t, os.Symlink(victim, path+".owner"))
	s, err := Open(path, testKey(t), Options{Owner: "pid 1 on socket x"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
		t.Errorf("the file behind cache.db.owner was overwritten: %q", b)
	}
	if fi, err := os.Lstat(path + ".owner"); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache.db.owner = %v, %v; want a regular 0600 file", fi, err)
	}
	_, err = Open(path, testKey(t), Options{Timeout: 10 * time.Millisecond})
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Owner != "pid 1 on socket x" {
		t.Errorf("second open = %v, want it locked by the owner written", err)
	}
	s.Close()
	// A FIFO there is not waited on by a second opener.
	s, err = Open(path, testKey(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.Remove(path + ".owner")
	must(t, syscall.Mkfifo(path+".owner", 0o600))
	within(t, func() {
		_, err = Open(path, testKey(t), Options{Timeout: 10 * time.Millisecond})
	})
	if !errors.As(err, &locked) || locked.Owner != "" {
		t.Errorf("second open with a FIFO for .owner = %v", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("in use by another process")) {
		t.Errorf("message %q", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
