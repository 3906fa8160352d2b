// Package privdir is the one folder-privacy policy of codecommitd, used by
// the daemon and by the helpers alike: a folder that holds the socket, a
// key, a cache or a log must be a real directory, owned by this user and
// closed to everyone else, under folders (and links) of this user's or
// root's that nobody else may write to unless sticky, so that nobody can
// swap it for another after the check (Check, Ensure, Refusal). It is also the one way
// codecommitd opens a file that this user or another may have placed
// (OpenFile): never through a symlink, never blocking on a FIFO
// or a device, and only a regular file of this user's that others cannot
// open. It uses only the standard library: the helpers call it on every git
// operation.
package privdir
