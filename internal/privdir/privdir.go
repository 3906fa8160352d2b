package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NotPrivateError says why a folder may not hold codecommitd's files.
type NotPrivateError struct {
	Dir string
	// Reason completes "<Dir> …": "is not a directory", "belongs to uid 0",
	// "is open to other users (mode drwxrwxrwt)".
	Reason string
	// Shared reports a folder other users may write (sticky or writable
	// by others, like /tmp): codecommitd never suggests changing one.
	Shared bool
	// Ours reports that this user owns it.
	Ours bool
}

func (e *NotPrivateError) Error() string { return e.Dir + " " + e.Reason }

// Fix says what to do about e, where option names how the user chooses
// another path ("--socket", "CODECOMMITD_SOCKET", "--cache"). It never
// suggests changing a folder codecommitd did not create, unless the folder
// is the user's own and named for codecommitd.
func (e *NotPrivateError) Fix(option string) string {
	fix := "choose a path in a private folder of your own with " + option + " (for example: mkdir -m 700 ~/.codecommitd)"
	if e.Ours && !e.Shared && strings.HasPrefix(filepath.Base(e.Dir), "codecommitd") {
		fix += ", or make this folder private: chmod 700 " + e.Dir
	}
	return fix
}

// IsNotExist reports whether err says the directory does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// Ensure makes sure dir is private for this user. A missing dir (and any
// missing parent) is created with mode 0700: codecommitd creates its own
// folders and only those, and none under a folder another user could move
// (see Check). An existing dir is checked and never changed: one that is
// not private is refused with a *NotPrivateError.
func Ensure(dir string) error {
	err := Check(dir)
	if !IsNotExist(err) {
		return err
	}
	if err := checkAncestors(dir); err != nil {
		return err // nothing is made where another user could move it
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(dir), err)
	}
	switch err := os.Mkdir(dir, 0o700); {
	case err == nil:
		// Ours from birth; the umask may only have removed bits.
	case errors.Is(err, fs.ErrExist):
		// Someone made it meanwhile: it must pass the check like any other.
	default:
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return Check(dir)
}

// Refusal turns a *NotPrivateError from Check or Ensure into the one line
// codecommitd says about it: "will not <use> in <dir>: it <reason>; <fix>",
// where use says what was to be done ("put the socket", "keep the cache")
// and option how the user chooses another path. The result still unwraps to
// the *NotPrivateError. Other errors, and nil, are returned as they are.
func Refusal(err error, use, option string) error {
	var np *NotPrivateError
	if !errors.As(err, &np) {
		return err
	}
	return &refusal{fmt.Sprintf("will not %s in %s: it %s; %s", use, np.Dir, np.Reason, np.Fix(option)), np}
}

type refusal struct {
	msg string
	np  *NotPrivateError
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.np }

// FileError says why a file codecommitd was to open is not used.
type FileError struct {
	Path string
	// Reason completes "<Path> …": "is a symbolic link …", "is not a
	// regular file (a FIFO)", "belongs to uid 65534 …", "is open to other
	// users (mode -rw-r--r--)".
	Reason string
	// OnlyMode reports a regular file of this user's whose only fault is
	// its mode: chmod 600 is then the user's fix.
	OnlyMode bool
}

func (e *FileError) Error() string { return e.Path + " " + e.Reason }

// Fix says what to do about e, where option names how the user chooses
// another path ("--key-file", "--cache"). It never suggests changing a file
// that is not the user's own.
func (e *FileError) Fix(option string) string {
	if e.OnlyMode {
		return "chmod 600 " + e.Path
	}
	return "move it away, or choose another path with " + option
}

// OpenFile opens path as os.OpenFile does, for a file that this user or
// another may have placed there. It never follows a symlink at path
// (O_NOFOLLOW) and never blocks (O_NONBLOCK: a FIFO or a device put there
// cannot stall the caller), then checks the open descriptor (fstat): a
// regular file, this user's, closed to others. A file that fails is closed
// and refused with a *FileError; a missing one gives the fs.ErrNotExist
// error. O_TRUNC is refused, since it would cut a file before the check:
// truncate the file returned instead. (Windows has neither flag; there the
// file need only be regular.)
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if flag&os.O_TRUNC != 0 {
		return nil, errors.New("privdir.OpenFile: O_TRUNC would truncate " + path + " before it is checked")
	}
	f, err := os.OpenFile(path, flag|openFlags, perm)
	if err != nil {
		// A symlink (ELOOP; EMLINK on the BSDs), a FIFO without a
		// reader (ENXIO), a directory (EISDIR), another user's file
		// (EACCES): say what is there rather than the errno.
		if fi, lerr := os.Lstat(path); lerr == nil && !errors.Is(err, fs.ErrNotExist) {
			if cerr := checkInfo(path, fi); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkInfo(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkInfo applies the file policy to what fstat (or Lstat) said of path.
func checkInfo(path string, fi fs.FileInfo) error {
	mode := fi.Mode()
	e := &FileError{Path: path}
	uid, known := owner(fi)
	switch {
	case mode&fs.ModeSymlink != 0:
		e.Reason = "is a symbolic link (codecommitd does not follow links here: give the file's own path)"
	case mode.IsDir():
		e.Reason = "is a directory, not a file"
	case !mode.IsRegular():
		e.Reason = "is not a regular file (" + kind(mode) + ")"
	case known && uid != os.Getuid():
		e.Reason = fmt.Sprintf("belongs to uid %d, not to this user (uid %d)", uid, os.Getuid())
	case known && mode.Perm()&0o077 != 0:
		e.Reason, e.OnlyMode = fmt.Sprintf("is open to other users (mode %v)", mode.Perm()), true
	default:
		return nil
	}
	return e
}

func kind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + mode.String()
}
