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
// folders and only those. An existing dir is checked and never changed: one
// that is not private is refused with a *NotPrivateError.
func Ensure(dir string) error {
	err := Check(dir)
	if !IsNotExist(err) {
		return err
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
