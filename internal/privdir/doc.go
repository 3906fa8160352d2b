// Package privdir is the one folder-privacy policy of codecommitd, used by
// the daemon and by the helpers alike: a folder that holds the socket, a
// key or a cache must be a real directory, owned by this user and closed to
// everyone else. It uses only the standard library: the helpers call it on
// every git operation.
package privdir
