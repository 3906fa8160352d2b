// Package codecommit owns what a CodeCommit remote is: the codecommit:// URL
// forms AWS's git-remote-codecommit accepts, the https:// URLs and hosts git
// uses for CodeCommit, what a valid host[:port] is and which hosts codecommitd
// signs for (CheckEndpoint), repository-name rules, which regions CodeCommit
// is known in, and which git endpoint serves a region.
//
// It depends on nothing but the standard library, so the thin helper binaries
// can use it without paying for the AWS SDK at start-up.
package codecommit
