//go:build unix

package sso

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func newStore(t *testing.T) store {
	return store{dir: filepath.Join(t.TempDir(), "cache"), lockWait: time.Second}
}

// TestWriteIsAtomicAndPrivate: the folder is made 0700 when missing; the
// file is 0600 whatever the umask, holds the new content whole, and no
// temporary file stays behind.
func TestWriteIsAtomicAndPrivate(t *testing.T) {
	st := newStore(t)
	path := filepath.Join(st.dir, "k.json")
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, content := range []string{`{"first": 1}`, `{"second": 2}`} {
		if err := st.write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, path); got != content {
			t.Errorf("file holds %q, want %q", got, content)
		}
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(st.dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("file %v, folder %v; want 0600 and 0700", fi.Mode(), di.Mode())
	}
	if entries, _ := os.ReadDir(st.dir); len(entries) != 1 {
		t.Errorf("the folder holds %v, want the file alone", entries)
	}
}

// TestReadRefuses: the store reads only a regular file of this user's, at
// most 256 KiB, in a folder only this user may write; it follows no
// symlink, waits on no FIFO, changes no mode, and says what is wrong.
func TestReadRefuses(t *testing.T) {
	root := os.Getuid() == 0
	for _, tt := range []struct {
		name     string
		make     func(t *testing.T, dir, path string)
		needRoot bool
		want     string
	}{
		{"symlink", func(t *testing.T, dir, path string) {
			writeFile(t, filepath.Join(dir, "target"), `{"accessToken":"a","expiresAt":"2030-01-01T00:00:00Z"}`)
			os.Symlink(filepath.Join(dir, "target"), path)
		}, false, "symbolic link"},
		{"FIFO", func(t *testing.T, _, path string) { syscall.Mkfifo(path, 0o600) }, false, "not a regular file"},
		{"directory", func(t *testing.T, _, path string) { os.Mkdir(path, 0o700) }, false, "not a regular file"},
		{"too large", func(t *testing.T, _, path string) { writeFile(t, path, strings.Repeat(" ", maxFile+1)) }, false, "larger than 256 KiB"},
		{"another user's file", func(t *testing.T, _, path string) {
			writeFile(t, path, `{}`)
			os.Chown(path, 65534, 65534)
		}, true, "belongs to uid 65534"},
		{"a folder others may write", func(t *testing.T, dir, path string) {
			writeFile(t, path, `{}`)
			os.Chmod(dir, 0o777)
		}, false, "chmod go-w"},
		{"another user's folder", func(t *testing.T, dir, path string) {
			writeFile(t, path, `{}`)
			os.Chown(dir, 65534, 65534)
		}, true, "belongs to uid 65534"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot && !root {
				t.Skip("needs root to give a file to another user (uid 65534)")
			}
			st := newStore(t)
			os.MkdirAll(st.dir, 0o700)
			path := filepath.Join(st.dir, "k.json")
			tt.make(t, st.dir, path)
			before, _ := os.Lstat(st.dir)
			done := make(chan error, 1)
			go func() { _, _, err := st.readToken(path); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("readToken = %v, want %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("readToken blocked")
			}
			if after, _ := os.Lstat(st.dir); after.Mode() != before.Mode() {
				t.Errorf("the folder's mode changed from %v to %v", before.Mode(), after.Mode())
			}
		})
	}
}

// TestReadWaitsOutAnInPlaceWrite: the AWS CLI truncates a token file and
// writes it in place; a read that comes between finds it empty, and reads
// it again rather than call it broken.
func TestReadWaitsOutAnInPlaceWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		path := filepath.Join(st.dir, "k.json")
		writeFile(t, path, "")
		go func() {
			time.Sleep(rereadGap + rereadGap/2)
			writeFile(t, path, `{"accessToken":"a","expiresAt":"2030-01-01T00:00:00Z"}`)
		}()
		tok, found, err := st.readToken(path)
		if err != nil || !found || tok.AccessToken != "a" {
			t.Errorf("readToken = %v, %v, %v; want the token written meanwhile", tok, found, err)
		}
		writeFile(t, path, "{")
		if _, _, err := st.readToken(path); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Errorf("readToken of a file that stays broken = %v", err)
		}
	})
}

// TestLockIsExclusiveAndBounded: a second holder waits for the first, and
// gives up after lockWait with a message that names the lock file.
func TestLockIsExclusiveAndBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newStore(t), store{lockWait: 5 * time.Second}
		b.dir = a.dir
		path := filepath.Join(a.dir, "k.json")
		unlock, err := a.lock(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := b.lock(context.Background(), path); err == nil || !strings.Contains(err.Error(), "has held "+path+".codecommitd.lock for more than 5s") {
			t.Errorf("second lock = %v, want the bounded wait's refusal", err)
		}
		if waited := time.Since(start); waited < 5*time.Second || waited > 5*time.Second+lockPoll {
			t.Errorf("waited %v, want 5s", waited)
		}
		go func() { time.Sleep(time.Second); unlock() }()
		unlock2, err := b.lock(context.Background(), path)
		if err != nil || time.Since(start) < 6*time.Second {
			t.Fatalf("lock after the holder let go = %v at %v", err, time.Since(start))
		}
		unlock2()
		ctx, cancel := context.WithCancel(context.Background())
		unlock3, _ := a.lock(ctx, path)
		defer unlock3()
		go func() { time.Sleep(time.Second); cancel() }()
		if _, err := b.lock(ctx, path); err != context.Canceled { //nolint:errorlint // the context's own error
			t.Errorf("lock with a cancelled context = %v", err)
		}
	})
}
