// Package client is the Go client of codecommitd, used by the helpers git
// runs. It owns the request path both helpers share (Sign: the request's
// environment, its time bound, the MFA prompt, the warnings), dialing the
// daemon's socket, starting the daemon when no one answers, falling back to
// a one-shot in-process resolution through the codecommitd binary when it
// still cannot be reached, asking a person for an MFA code when the daemon
// says one is needed, and turning wire errors back into broker errors.
//
// It must stay thin: every git operation pays for its package
// initialisation, so it never imports the AWS SDK or bbolt (a test checks).
package client
