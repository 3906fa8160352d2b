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
// # Failure policy
//
// A file that cannot be opened or read — truncated, scribbled over, sealed
// with another key, of an unknown schema — is renamed aside with a
// timestamp, logged once, and replaced by an empty one: the daemon keeps
// serving. A record that does not open is a miss, never garbage. bbolt's
// copy-on-write commits mean kill -9 at any moment leaves a file that opens.
package cache
