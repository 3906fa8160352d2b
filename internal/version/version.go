// Package version holds the version the binaries report. Release builds set
// Version with -ldflags "-X github.com/codecommitd/codecommitd/internal/version.Version=v1.2.3".
package version

// Version is the release version, or "dev" for builds from a checkout.
var Version = "dev"
