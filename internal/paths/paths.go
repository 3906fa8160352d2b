// Package paths decides where the daemon keeps its files: the log of an
// autostarted daemon, the credential cache, the cache key file. It follows
// the XDG base directories on Linux and the platform's conventions elsewhere
// (github.com/adrg/xdg). The socket is not here: see package sockpath.
package paths

import (
	"path/filepath"
	"runtime"

	"github.com/adrg/xdg"
)

// StateDir is where persistent state lives:
// $XDG_STATE_HOME/codecommitd (~/.local/state/codecommitd), or
// ~/Library/Application Support/codecommitd on macOS.
func StateDir() string {
	if runtime.GOOS == "darwin" {
		return filepath.Join(xdg.Home, "Library", "Application Support", "codecommitd")
	}
	return filepath.Join(xdg.StateHome, "codecommitd")
}

// LogDir is where an autostarted or service-managed daemon logs:
// ~/Library/Logs/codecommitd on macOS, StateDir elsewhere.
func LogDir() string {
	if runtime.GOOS == "darwin" {
		return filepath.Join(xdg.Home, "Library", "Logs", "codecommitd")
	}
	return StateDir()
}

// CacheFile is the default encrypted credential cache.
func CacheFile() string { return filepath.Join(StateDir(), "cache.db") }

// LogFile is the log file of an autostarted daemon.
func LogFile() string { return filepath.Join(LogDir(), "codecommitd.log") }
