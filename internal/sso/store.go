package sso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// maxFile bounds the token and registration files read: a few KiB in
// practice, far less than a mistake (a device, a log) could be.
const maxFile = 256 << 10

// Reading a file the AWS CLI is rewriting: it truncates and writes in place
// (botocore JSONFileCache), so a reader may see it empty or cut short. A
// file that does not parse is read again, rereads apart, before it counts
// as unreadable.
const (
	rereads   = 3
	rereadGap = 20 * time.Millisecond
)

// lockPoll is how often a lock held by another process is tried again.
const lockPoll = 10 * time.Millisecond

// store reads and writes the files of one cache folder (~/.aws/sso/cache):
// token files and client registrations, shared with the AWS CLI and the
// SDKs. It never changes the folder's mode or owner: a folder another user
// could write to is refused, with the fix.
type store struct {
	dir      string
	lockWait time.Duration
}

// problem is a file or folder that cannot be used, in our words; the store
// returns it, and the caller makes it an *Error of the right reason.
type problem struct {
	what string // completes "…: <what>"
	err  error
}

func (p *problem) Error() string { return p.what }
func (p *problem) Unwrap() error { return p.err }

// checkDir refuses a cache folder that is not a directory of this user's
// that only this user can write: a file another user could have put there
// is never read as a token, nor written over. It follows a symlink to the
// folder (~/.aws is often one), and checks what it points to.
func (st *store) checkDir() error {
	fi, err := os.Stat(st.dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &problem{what: st.dir + " is not a directory; move it away"}
	}
	return dirPolicy(st.dir, fi)
}

// readFile returns the content of path, or found false when there is no
// such file (nor folder). The file must be a regular file of this user's,
// no larger than maxFile; a symlink is not followed.
func (st *store) readFile(path string) (b []byte, found bool, err error) {
	switch err := st.checkDir(); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, true, err
	}
	defer f.Close()
	b, err = io.ReadAll(io.LimitReader(f, maxFile+1))
	switch {
	case err != nil:
		return nil, true, &problem{what: "it cannot be read (" + errnoText(err) + ")", err: err}
	case len(b) > maxFile:
		return nil, true, &problem{what: fmt.Sprintf("it is larger than %d KiB, which no token file is", maxFile>>10)}
	}
	return b, true, nil
}

// readToken reads and parses the token file at path, reading a file that
// does not parse again in case its writer was not done.
func (st *store) readToken(path string) (Token, bool, error) {
	for i := 0; ; i++ {
		b, found, err := st.readFile(path)
		if err != nil || !found {
			return Token{}, found, err
		}
		t, err := ParseToken(b)
		if err == nil || i == rereads-1 {
			if err != nil {
				err = &problem{what: err.Error()}
			}
			return t, true, err
		}
		time.Sleep(rereadGap)
	}
}

// write replaces the file at path with b atomically: a temporary file in
// the same folder, mode 0600, written and synced, then renamed over path.
// A reader sees the old file or the new one, whole. The folder is created
// (0700, with its parents) when missing.
func (st *store) write(path string, b []byte) error {
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return &problem{what: "cannot create " + st.dir + " (" + errnoText(err) + ")", err: err}
	}
	if err := st.checkDir(); err != nil {
		return err
	}
	f, err := os.CreateTemp(st.dir, "."+filepath.Base(path)+".tmp-*") // 0600
	if err != nil {
		return &problem{what: "cannot write in " + st.dir + " (" + errnoText(err) + ")", err: err}
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return &problem{what: "cannot write " + path + " (" + errnoText(err) + ")", err: err}
	}
	syncDir(st.dir)
	return nil
}

// lock takes the lock of the token file at path (path + ".codecommitd.lock",
// beside it), which every codecommitd process takes before it refreshes or
// writes that file, waiting at most lockWait for another one to let go.
// The lock file stays: removing it would let two processes lock two files.
// Other programs (the AWS CLI, the SDKs) take no lock; see Client.Refresh
// for how their writes are kept.
func (st *store) lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return nil, &problem{what: "cannot create " + st.dir + " (" + errnoText(err) + ")", err: err}
	}
	if err := st.checkDir(); err != nil {
		return nil, err
	}
	name := path + ".codecommitd.lock"
	f, err := openNoFollow(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &problem{what: "the lock file " + name + ": " + errnoText(err) + "; remove it", err: err}
	}
	deadline := time.Now().Add(st.lockWait)
	for {
		err := tryLock(f)
		if err == nil {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, &problem{what: "cannot lock " + name + " (" + errnoText(err) + ")", err: err}
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, &problem{what: fmt.Sprintf("another codecommitd process has held %s for more than %s; if none is signing in, remove the file", name, st.lockWait)}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// errnoText names a file system failure briefly, without the path the
// message already gives.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var p *problem
	if errors.As(err, &p) {
		return p.what
	}
	return "an I/O error"
}
