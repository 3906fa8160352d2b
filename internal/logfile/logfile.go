// Package logfile is the daemon's log file (--log-file, and the one an
// autostarted daemon writes): kept in a private folder, opened as privdir
// opens every file another user may have placed (no symlink followed, no
// blocking on a FIFO, a regular 0600 file of ours), and capped: past
// MaxSize the file is renamed to <path>.1 (replacing the previous one) and
// a new one is started, so a daemon that runs for months keeps at most two
// files of MaxSize.
//
// It writes what it is given and nothing else; what may go into a log is
// the loggers' business.
package logfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/codecommitd/codecommitd/internal/privdir"
)

// DefaultMaxSize is the size past which a log file is rotated.
const DefaultMaxSize = 10 << 20

// Writer appends to a log file and rotates it. It is safe for concurrent
// use.
type Writer struct {
	path string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
	err  error // why there is no file: it could not be reopened, or it is closed
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
	w := &Writer{path: path, max: maxSize}
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
// limit. A record is never split across the two files.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && w.size > 0 && w.size+int64(len(p)) > w.max {
		w.rotate()
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
	w.err = w.open()
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	w.err = errors.New("the log file is closed")
	return err
}
