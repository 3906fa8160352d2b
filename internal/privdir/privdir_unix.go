//go:build unix

package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Check reports whether dir is a real directory (not a symlink) owned by
// this user and closed to everyone else, so that whatever is in it was put
// there by this user, and whether nobody else can swap it for another
// between this check and an open (checkAncestors). It returns a
// *NotPrivateError when it is not, and the fs.ErrNotExist error of a
// missing dir.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if err := checkLeaf(dir, fi); err != nil {
		return err
	}
	return checkAncestors(dir)
}

// checkLeaf applies the folder policy to what Lstat said of dir.
func checkLeaf(dir string, fi fs.FileInfo) error {
	mode := fi.Mode()
	uid, known := owner(fi)
	e := &NotPrivateError{Dir: dir, Ours: !known || uid == os.Getuid(),
		Shared: mode&fs.ModeSticky != 0 || mode.Perm()&0o002 != 0}
	switch {
	case !fi.IsDir():
		e.Reason = "is not a directory (a symlink or a file)"
	case !e.Ours:
		e.Reason = fmt.Sprintf("belongs to uid %d, not to this user (uid %d): another user may be listening there", uid, os.Getuid())
	case mode.Perm()&0o077 != 0:
		e.Reason = fmt.Sprintf("is open to other users (mode %v)", mode)
	default:
		return nil
	}
	return e
}

// checkAncestors walks from dir's parent to the root, as OpenSSH's
// secure_filename does: each folder must belong to this user or root and
// be closed to writes by group and others, unless it is sticky (like
// /tmp: there only an entry's owner may rename or remove it). Otherwise
// someone else could rename dir away and put a folder of theirs (or a
// link) in its place after the check, and whatever opens a path in it
// then (bbolt, a dial) follows. It walks the path as given, where a
// symbolic link must belong to this user or root (only its owner, or the
// folder's, may replace it), and then the path the links lead to. Folders
// not made yet (Ensure makes them) are skipped.
func checkAncestors(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	deepest, linked := "", false
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			if deepest == "" {
				deepest = p
			}
			linked = linked || fi.Mode()&fs.ModeSymlink != 0
			if err := checkAncestor(dir, p, fi); err != nil {
				return err
			}
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if !linked {
		return nil // the path as given is the path the kernel walks
	}
	real, err := filepath.EvalSymlinks(deepest)
	if err != nil || real == deepest {
		return err
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if err := checkAncestor(dir, p, fi); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// checkAncestor applies the ancestor policy to what Lstat said of p, a
// folder (or a link) on the way to dir.
func checkAncestor(dir, p string, fi fs.FileInfo) error {
	uid, known := owner(fi)
	mode := fi.Mode()
	switch {
	case !known:
		return nil
	case uid != 0 && uid != os.Getuid():
		what := "inside " + p
		if mode&fs.ModeSymlink != 0 {
			what = "reached through the link " + p
		}
		return &NotPrivateError{Dir: dir, Shared: true,
			Reason: fmt.Sprintf("is %s, which belongs to uid %d, not to this user (uid %d) or root: that user could put a folder of theirs in its place", what, uid, os.Getuid())}
	case mode&fs.ModeSymlink == 0 && mode&fs.ModeSticky == 0 && mode.Perm()&0o022 != 0:
		return &NotPrivateError{Dir: dir, Shared: true,
			Reason: fmt.Sprintf("is inside %s, which others may write to (mode %v): they could put a folder of theirs in its place", p, mode)}
	}
	return nil
}

// owner is the uid that owns the file fi describes.
func owner(fi fs.FileInfo) (uid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// openFlags keep OpenFile from following a symlink at the path and from
// blocking on a FIFO or a device.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
