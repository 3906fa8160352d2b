package privdir

import (
	"errors"
	"io/fs"
	"os"
)

// Check only checks that dir is a directory: on Windows the socket
// lives in the user's profile, whose ACL keeps other users out.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New(dir + " is not a directory")
	}
	return nil
}

// IsNotExist reports whether err says the directory does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
