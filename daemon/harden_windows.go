package daemon

// Harden does nothing on Windows: no core files are written, and the files
// the daemon creates inherit the user profile's private ACLs.
func Harden() error { return nil }
