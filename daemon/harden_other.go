//go:build unix && !linux

package daemon

// notDumpable has no equivalent outside Linux; disabled core files cover
// the rest.
func notDumpable() error { return nil }
