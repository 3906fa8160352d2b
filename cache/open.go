package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// ErrLocked reports that another process holds the cache file. Errors
// wrapping it are *LockedError.
var ErrLocked = errors.New("the cache file is in use by another process")

// LockedError says which process holds the cache file.
type LockedError struct {
	Path string
	// Owner is what the holder wrote into <Path>.owner, e.g. "pid 123 on
	// socket /run/user/1000/codecommitd/codecommitd.sock"; "" if unknown.
	Owner string
}

func (e *LockedError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("%s is in use by another process (another codecommitd with the same --cache?)", e.Path)
	}
	return fmt.Sprintf("%s is in use by another codecommitd (%s)", e.Path, e.Owner)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// ErrUnavailable reports an operation on a store that can no longer use its
// file (it became unreadable, or was replaced, while open).
var ErrUnavailable = errors.New("the cache file is no longer usable")

// errReadOnly reports a write to a store opened read-only.
var errReadOnly = errors.New("the cache file is open read-only")

// Store is an open cache. It is safe for concurrent use. When its file
// cannot be written (a full disk, a read-only folder) it keeps reading what
// is there; when the file stops being readable (damaged or replaced while
// open) every operation fails with ErrUnavailable, and Problem says why:
// the daemon then keeps credentials in memory.
type Store struct {
	aead  cipher.AEAD
	path  string
	log   *slog.Logger
	now   func() time.Time
	owner string

	mu       sync.Mutex
	db       *bbolt.DB
	ident    fs.FileInfo // the file opened, to notice it being replaced
	readOnly bool
	problem  string // what Problem returns
	setAside string // what Problem adds: the file was set aside at start
	broken   bool
	writeErr bool // the last write failed (logged once until one succeeds)
}

// Options configures Open.
type Options struct {
	// Log receives the messages about a file moved aside or not writable,
	// each marked component=cache and with the file's path.
	Log *slog.Logger
	// Timeout bounds the wait for the file lock; zero means one second.
	Timeout time.Duration
	// Now is the clock for expiry; nil means time.Now.
	Now func() time.Time
	// KeyHome is where the key lives (KeyHome of the Key), recorded in the
	// file so that a later run looks for it there first.
	KeyHome string
	// Owner describes this process for a second one that finds the file
	// locked, e.g. "pid 123 on socket /run/user/1000/codecommitd/codecommitd.sock".
	Owner string
}

// Inspect reads the file at path without opening it for real and returns
// the key home recorded in it; "" for a missing file (or folder), an empty
// one, or one that records none. A folder that is not private, and a file
// that is not a regular file of this user's closed to others (a symlink, a
// FIFO, another user's), are refused with an error that says so in one
// line, before anything in them is opened; a file that is damaged gives an
// error wrapping ErrCorrupt.
func Inspect(path string) (keyHome string, err error) {
	switch err := privdir.Check(filepath.Dir(path)); {
	case privdir.IsNotExist(err):
		return "", nil
	case err != nil:
		return "", folderError(err)
	}
	info, err := checkFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil && !errors.Is(err, ErrCorrupt):
		return "", fileError(path, err)
	}
	return info.keyHome, err
}

// folderError is the one line for a cache folder that is not private.
func folderError(err error) error {
	return privdir.Refusal(err, "keep the cache", "--cache")
}

// fileError is the one line for a cache file that cannot be used.
func fileError(path string, err error) error {
	var fe *privdir.FileError
	if errors.As(err, &fe) {
		return fmt.Errorf("will not use the cache %w; %s", fe, fe.Fix("--cache"))
	}
	return fmt.Errorf("cannot read the cache %s: %s", path, shortErr(err))
}

// Open opens (or creates) the cache at path with key.
//
//   - A file bbolt cannot safely map (shorter than its header says, torn or
//     scribbled pages, a wrong magic number), or one that does not open with
//     key, or of an unknown schema, is renamed aside with a timestamp, logged
//     once, and replaced by an empty one.
//   - A file another process holds gives a *LockedError after Timeout.
//   - A file that can be read but not written (a read-only folder, a full
//     disk) is opened read-only: what it holds is served, nothing is saved,
//     and Problem says so.
//
// Expired records are pruned when the file can be written.
func Open(path string, key []byte, opts Options) (*Store, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("cache key is %d bytes, want %d", len(key), KeySize)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	// The folder is made private, or refused: never changed. Only then
	// may bbolt open the file (see tryOpen).
	if err := folderError(privdir.Ensure(filepath.Dir(path))); err != nil {
		return nil, err
	}
	log := opts.Log.With(slog.String("component", "cache"), slog.String("path", path))
	s := &Store{aead: aead, path: path, log: log, now: opts.Now, owner: opts.Owner}
	if err := s.openFile(opts); err != nil {
		return nil, err
	}
	if !s.readOnly {
		if _, err := s.Prune(); err != nil {
			s.log.Warn("cannot prune expired records from the credential cache", "error", err.Error())
		}
		if opts.Owner != "" {
			writeOwner(path, opts.Owner)
		}
	}
	return s, nil
}

// openFile checks the file, opens it and brings it to SchemaVersion,
// setting it aside once if it cannot be read.
func (s *Store) openFile(opts Options) error {
	for attempt := 0; ; attempt++ {
		err := s.tryOpen(opts)
		var unreadable *unreadableError
		if !errors.As(err, &unreadable) || attempt > 0 {
			return err
		}
		aside, rerr := moveAside(s.path, opts.Now())
		if rerr != nil {
			return fmt.Errorf("the cache %s cannot be read (%s) and cannot be moved aside: %w", s.path, unreadable.why, rerr)
		}
		s.log.Warn("the credential cache could not be read; moved it aside and started an empty one",
			"moved_to", aside, "reason", unreadable.why)
		s.setAside = "could not be read at start (" + unreadable.why + "); moved it aside to " + aside + " and started an empty one"
	}
}

// unreadableError is a file to set aside.
type unreadableError struct{ why string }

func (e *unreadableError) Error() string { return e.why }

func unreadable(format string, args ...any) error {
	return &unreadableError{fmt.Sprintf(format, args...)}
}

func (s *Store) tryOpen(opts Options) (err error) {
	// checkFile opens the path without following a link or blocking, and
	// refuses anything but a regular file of ours closed to others. bbolt
	// then opens the path itself, following links and blocking on a FIFO.
	// That is enough: Open made sure the folder is private (a real
	// directory of ours, closed to others), so nobody but this user can
	// put anything at the path between the check and bbolt's open.
	switch _, err := checkFile(s.path); {
	case errors.Is(err, ErrCorrupt):
		return unreadable("%v", err)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fileError(s.path, err)
	}
	db, err := guardOpen(s.path, &bbolt.Options{Timeout: opts.Timeout})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return &LockedError{Path: s.path, Owner: readOwner(s.path)}
	case errors.Is(err, fs.ErrPermission) || isReadOnlyFS(err):
		return s.openReadOnly(opts, fmt.Sprintf("cannot be opened for writing (%v)", shortErr(err)))
	case errors.Is(err, errFault):
		return unreadable("%v", err)
	case err != nil:
		return fmt.Errorf("cannot open the cache %s: %w", s.path, err)
	}
	if err := s.prepare(db, opts.KeyHome); err != nil {
		_ = db.Close() // abandoned after the error that matters
		var u *unreadableError
		if errors.As(err, &u) {
			return err
		}
		// Reading worked, writing did not: a full disk, a read-only
		// file system, a quota.
		return s.openReadOnly(opts, fmt.Sprintf("cannot be written (%v)", shortErr(err)))
	}
	s.db, s.ident = db, fileIdent(db)
	return nil
}

// prepare checks the file's structure and key, and migrates it.
func (s *Store) prepare(db *bbolt.DB, keyHome string) error {
	err := guard(func() error {
		return db.View(func(tx *bbolt.Tx) error {
			// Drain every error: the checker goroutine blocks until read.
			var errs []error
			for cerr := range tx.Check() {
				errs = append(errs, cerr)
			}
			if len(errs) > 0 {
				first := strings.TrimPrefix(errs[0].Error(), "panic: ")
				return unreadable("damaged (%d problems; the first: %s)", len(errs), first)
			}
			if err := s.checkMeta(tx); !errors.Is(err, errOldSchema) {
				return err
			}
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, errFault) {
			return unreadable("%v", err)
		}
		return err
	}
	return guard(func() error {
		return db.Update(func(tx *bbolt.Tx) error {
			if err := s.migrate(tx); err != nil {
				return err
			}
			if keyHome != "" {
				return tx.Bucket(bucketMeta).Put(keyKeyHome, []byte(keyHome))
			}
			return nil
		})
	})
}

// openReadOnly opens a file that cannot be written, to serve what it
// holds. A file of an older schema cannot be migrated, so it is not used.
func (s *Store) openReadOnly(opts Options, why string) error {
	db, err := guardOpen(s.path, &bbolt.Options{Timeout: opts.Timeout, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return &LockedError{Path: s.path, Owner: readOwner(s.path)}
	}
	if err != nil {
		return fmt.Errorf("the cache %s %s, and cannot be read either: %w", s.path, why, shortError(err))
	}
	if err := guard(func() error { return db.View(s.checkMeta) }); err != nil {
		_ = db.Close() // abandoned after the error that matters
		return fmt.Errorf("the cache %s %s, and what it holds cannot be used read-only (%v)", s.path, why, shortErr(err))
	}
	s.db, s.ident, s.readOnly = db, fileIdent(db), true
	s.problem = "read-only: the file " + why + "; credentials obtained from now on are kept in memory only"
	s.log.Warn("the credential cache is read-only: serving what it holds, keeping new credentials in memory",
		"reason", why)
	return nil
}

// checkMeta checks, without writing, that the file is of the current
// schema and opens with this key (a new, empty file passes).
func (s *Store) checkMeta(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Bucket(bucketCredentials) != nil {
			return errOldSchema
		}
		return nil
	}
	v := meta.Get(keySchemaVersion)
	if len(v) != 8 {
		return unreadable("its schema version is missing or malformed")
	}
	version := beUint64(v)
	if version > SchemaVersion {
		return unreadable("its schema version %d is newer than this codecommitd understands (%d)", version, SchemaVersion)
	}
	check := meta.Get(keyKeyCheck)
	if check == nil {
		return unreadable("its key check is missing")
	}
	if plain, err := s.unseal(version, bucketMeta, keyKeyCheck, check); err != nil || string(plain) != string(keyCheckPlaintext) {
		return unreadable("%v", errWrongKey)
	}
	if version < SchemaVersion {
		return errOldSchema
	}
	return nil
}

// errOldSchema is a file that needs migrating, which only a writable file
// allows.
var errOldSchema = errors.New("the file needs migrating to the current schema")

// newAEAD returns AES-256-GCM with a random 96-bit nonce prepended to each
// sealed value.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// keepAside is how many unreadable files are kept for inspection.
const keepAside = 3

// moveAside renames path to path.unreadable-<time> and deletes all but the
// newest keepAside such files.
func moveAside(path string, now time.Time) (string, error) {
	aside := path + ".unreadable-" + now.UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	old, _ := filepath.Glob(path + ".unreadable-*")
	slices.Sort(old) // the timestamp sorts by time
	for len(old) > keepAside {
		os.Remove(old[0])
		old = old[1:]
	}
	return aside, nil
}

// Close closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	if !s.readOnly && s.owner != "" {
		os.Remove(s.path + ".owner")
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Problem says what is wrong with the cache, for status: "" when it reads
// and writes and was opened as it was. A file set aside at start (it could
// not be read) is said for as long as the Store is open, after any problem
// since.
func (s *Store) Problem() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.setAside == "":
		return s.problem
	case s.problem == "":
		return s.setAside
	}
	return s.problem + "; it " + s.setAside
}

// writeOwner records in <path>.owner who holds the file, for the message
// of a second process that finds it locked. It writes a temporary file in
// the (private) folder and renames it: whatever was at <path>.owner is
// replaced, never followed or written through. It is only for a message:
// a failure (a full disk) changes nothing.
func writeOwner(path, owner string) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".owner-*")
	if err != nil {
		return
	}
	_, werr := f.WriteString(owner + "\n")
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), path+".owner") != nil {
		os.Remove(f.Name())
	}
}

// readOwner is what the holder of path wrote in <path>.owner, or "".
func readOwner(path string) string {
	f, err := privdir.OpenFile(path+".owner", os.O_RDONLY, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 512))
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// fileIdent is the identity of the file db opened, taken right after it
// was opened (bbolt does not expose its descriptor).
func fileIdent(db *bbolt.DB) fs.FileInfo {
	if fi, err := os.Lstat(db.Path()); err == nil {
		return fi
	}
	return nil
}

// shortErr is err's text on one short line.
func shortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func shortError(err error) error { return errors.New(shortErr(err)) }
