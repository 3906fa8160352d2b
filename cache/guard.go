package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"

	"go.etcd.io/bbolt"
)

// errFault reports that bbolt touched memory it could not read (a page of
// the mapped file that no longer exists) or panicked on what it read.
var errFault = errors.New("the cache file could not be read")

// guard runs fn, turning a fault on the mapped file (SIGBUS, SIGSEGV) and
// a bbolt panic into an error wrapping errFault instead of a crash. The
// file is checked before it is opened; this covers a file changed under a
// running daemon.
func guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errFault, r)
		}
	}()
	return fn()
}

// guardOpen is bbolt.Open under guard.
func guardOpen(path string, opts *bbolt.Options) (db *bbolt.DB, err error) {
	err = guard(func() error {
		var oerr error
		db, oerr = bbolt.Open(path, 0o600, opts)
		return oerr
	})
	return db, err
}

// isReadOnlyFS reports an error from a file system mounted read-only.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// use runs fn on the open database under guard, for reading (write false)
// or writing. It fails with ErrUnavailable once the file has become
// unusable, and with errReadOnly for a write to a read-only store. A fault
// makes the store unusable; a failed write is logged once until a write
// succeeds again; a file replaced or removed under the daemon is noticed
// before each write.
func (s *Store) use(write bool, fn func(db *bbolt.DB) error) error {
	s.mu.Lock()
	db, broken, readOnly := s.db, s.broken, s.readOnly
	if !broken && db != nil && write && !readOnly && s.replaced() {
		s.disable("the file was replaced, moved or removed while the daemon ran; restart the daemon to use a new one")
		broken = true
	}
	s.mu.Unlock()
	switch {
	case broken || db == nil:
		return ErrUnavailable
	case write && readOnly:
		return errReadOnly
	}
	err := guard(func() error { return fn(db) })
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case errors.Is(err, errFault):
		s.disable(fmt.Sprintf("it became unreadable while the daemon ran (%v)", err))
		return ErrUnavailable
	case write && err != nil && !errors.Is(err, errRecord):
		if !s.writeErr {
			s.writeErr = true
			s.problem = "cannot write: " + shortErr(err) + "; credentials obtained meanwhile are kept in memory only"
			s.log.Warn("cannot write the credential cache (full disk? read-only folder?); new credentials are kept in memory until it can",
				"error", shortErr(err))
		}
	case write && err == nil && s.writeErr:
		s.writeErr, s.problem = false, ""
		s.log.Info("the credential cache can be written again")
	}
	return err
}

// errRecord marks a refusal about the data, not the file.
var errRecord = errors.New("record refused")

// replaced reports whether the path no longer names the file opened.
// Called with s.mu held.
func (s *Store) replaced() bool {
	if s.ident == nil {
		return false
	}
	fi, err := os.Lstat(s.path)
	return err != nil || !os.SameFile(fi, s.ident)
}

// disable stops using the file, says why once, and keeps it closed.
// Called with s.mu held.
func (s *Store) disable(why string) {
	if s.broken {
		return
	}
	s.broken = true
	s.problem = "not in use: " + why + "; credentials are kept in memory only"
	s.log.Warn("the credential cache is no longer used; credentials are kept in memory only", "reason", why)
	if s.db != nil {
		_ = guard(s.db.Close)
		s.db = nil
	}
}
