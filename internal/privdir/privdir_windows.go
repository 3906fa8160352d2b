package privdir

import (
	"io/fs"
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

// checkAncestors has nothing to check on Windows: the profile's ACL
// decides who may rename what in it.
func checkAncestors(string) error { return nil }

// owner is unknown on Windows: the profile's ACL decides who may open what.
func owner(fs.FileInfo) (uid int, known bool) { return 0, false }

// openFlags is empty: Windows has no O_NOFOLLOW or O_NONBLOCK. OpenFile
// still refuses what is not a regular file; codecommitd's folders live in
// the user's profile, whose ACL keeps other users out.
const openFlags = 0
