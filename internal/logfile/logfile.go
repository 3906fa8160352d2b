// Package logfile is the daemon's log file (--log-file, and the one an
// autostarted daemon writes): kept in a private folder, opened as privdir
// opens every file another user may have placed (no symlink followed, no
// blocking on a FIFO, a regular 0600 file of ours), and capped: past
// MaxSize the file is renamed to <path>.1 (replacing the previous one) and
// a new one is started, so a daemon that runs for months keeps at most two
// files of MaxSize. Should the new file not open, the log is lost until
// it does: it is tried again at most once a minute (ReopenInterval), and
// that is said once on stderr.
//
// It writes what it is given and nothing else; what may go into a log is
// the loggers' business.
package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// DefaultMaxSize is the size past which a log file is rotated.
const DefaultMaxSize = 10 << 20

// ReopenInterval is how often a log file that could not be opened again
// after a rotation is tried again, at a write.
const ReopenInterval = time.Minute

// Writer appends to a log file and rotates it. It is safe for concurrent
// use.
type Writer struct {
	path string
	max  int64

	// now and stderr are the clock and where a failed reopen is said
	// (time.Now, os.Stderr; tests change them).
	now    func() time.Time
	stderr io.Writer

	mu   sync.Mutex
	f    *os.File
	size int64
	err  error // why there is no file: it could not be reopened, or it is closed
	// closed reports whether Close was called; else, with no file,
	// retryAt is when to try to open it again, and said whether the
	// failure was said.
	closed  bool
	retryAt time.Time
	said    bool
}

// Open opens (or creates) the log file at path for appending, rotating it
// past maxSize bytes (0 means DefaultMaxSize). The folder is created
// private if missing and refused if it is not private; the file is refused
// if it is not a regular 0600 file of ours.
func Open(path string, maxSize int64) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if err := privdir.Refusal(privdir.Ensure(filepath.Dir(path)), "keep the log", "--log-file"); err != nil {
		return nil, err
	}
	w := &Writer{path: path, max: maxSize, now: time.Now, stderr: os.Stderr}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// open opens the file at w.path; w.mu is held or w is not shared yet.
func (w *Writer) open() error {
	f, err := privdir.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	var fe *privdir.FileError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("log file %w; %s", fe, fe.Fix("--log-file"))
	case err != nil:
		return fmt.Errorf("opening the log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening the log file: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write appends p, first rotating the file if p would take it past the
// limit, or opening it again if that failed at least ReopenInterval ago.
// A record is never split across the two files.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && w.size > 0 && w.size+int64(len(p)) > w.max {
		w.rotate()
	}
	if w.f == nil && !w.closed && !w.now().Before(w.retryAt) {
		w.reopen()
	}
	if w.f == nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// rotate renames the file to <path>.1 and starts a new one. In a private
// folder nobody else can put anything at either name, and a rename replaces
// a name without following it. Should the rename fail, the same file is
// reopened and the next write tries again. w.mu is held.
func (w *Writer) rotate() {
	w.f.Close()
	w.f = nil
	_ = os.Rename(w.path, w.path+".1")
	w.reopen()
}

// reopen opens the file again; when that fails, it says so on stderr (once
// until it works again) and leaves the next try for ReopenInterval later.
// w.mu is held.
func (w *Writer) reopen() {
	if w.err = w.open(); w.err == nil {
		w.said = false
		return
	}
	w.retryAt = w.now().Add(ReopenInterval)
	if !w.said {
		w.said = true
		fmt.Fprintf(w.stderr, "codecommitd: cannot open the log again after rotating it: %v; what is logged is lost until it opens (tried again once a minute)\n", w.err)
	}
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.err = errors.New("the log file is closed")
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
