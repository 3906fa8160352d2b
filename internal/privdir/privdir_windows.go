package privdir

import (
	"os"
)

// Check only checks that dir is a real directory: on Windows codecommitd's
// folders live in the user's profile, whose ACL keeps other users out. It
// returns the fs.ErrNotExist error of a missing dir.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &NotPrivateError{Dir: dir, Reason: "is not a directory", Ours: true}
	}
	return nil
}
