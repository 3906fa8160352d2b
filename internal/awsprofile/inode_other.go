//go:build !unix

package awsprofile

import "io/fs"

// inode is unknown here; size and mtime still catch edits.
func inode(fs.FileInfo) uint64 { return 0 }
