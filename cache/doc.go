// Package cache keeps the daemon's temporary credentials across restarts in
// a bbolt file, every record sealed with AES-256-GCM, so that an upgrade, a
// crash or a logout/login comes back warm without calling STS or asking for
// MFA again, and nothing on disk shows a credential in the clear.
//
// It owns the file format, its migrations, recovery from files it cannot
// read, and where the encryption key comes from (key.go). The key never
// lives in the database.
//
// # Bucket tree (schema version 1)
//
//	meta/
//	  schema_version   uint64, big-endian
//	  key_check        sealed constant: opens only with the right key
//	credentials/
//	  <entry key>      sealed record (JSON: profile, keys, token, expiry)
//	usage/
//	  <profile name>   sealed JSON: when a request last used the profile
//
// An entry key is the daemon's fingerprint of a resolved profile (or of an
// MFA session's source and device), never a secret. Every record is sealed
// with additional data "codecommitd/v<schema>/<bucket>/<key>", so a record
// copied under another key, bucket or schema version does not open.
//
// # Files and folders
//
// The cache's folder is created 0700 when missing; an existing one must be
// a real folder of this user's closed to others (package privdir) and is
// never changed: Inspect and Open refuse any other in one line. Every file
// here and the key file are opened as privdir opens what another user may
// have placed (no symlink followed, no blocking on a FIFO, a regular 0600
// file of ours), and a key location a cache records is looked into only if
// its folder passes the same check. The key file is created with O_EXCL; the
// <file>.owner note is written to a temporary file and renamed.
//
// # Failure policy
//
// A file that cannot be opened or read — truncated, scribbled over, sealed
// with another key, of an unknown schema — is renamed aside with a
// timestamp, logged once, and replaced by an empty one: the daemon keeps
// serving. A record that does not open is a miss, never garbage. bbolt's
// copy-on-write commits mean kill -9 at any moment leaves a file that opens.
package cache
