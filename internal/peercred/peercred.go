// Package peercred asks the kernel who is at the other end of a Unix
// socket connection and decides whether that is the same user as this
// process: SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS, the token user SID
// of the peer process on Windows. Both sides use it: the daemon to admit
// only its own user's clients, the helpers to speak only to their own
// user's daemon. It is small on purpose: the helpers link it.
package peercred

import (
	"errors"
	"fmt"
	"log/slog"
)

// Peer is the process at the other end of a connection, as the kernel
// reports it. PID may be 0 where the kernel does not say.
type Peer struct {
	// UID is the peer's user id; -1 on Windows (see SID).
	UID int
	// SID is the peer's user SID on Windows, "" elsewhere.
	SID string
	PID int
}

// Self is the user this process runs as.
type Self struct {
	UID int
	SID string
}

// LogValue renders a peer for the audit log.
func (p Peer) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("pid", p.PID), slog.Int("uid", p.UID)}
	if p.SID != "" {
		attrs = append(attrs, slog.String("sid", p.SID))
	}
	return slog.GroupValue(attrs...)
}

// User names the peer's user in messages: "uid 1000" or "user S-1-5-…".
func (p Peer) User() string { return user(p.UID, p.SID) }

// User names this user in messages.
func (s Self) User() string { return user(s.UID, s.SID) }

func user(uid int, sid string) string {
	if sid != "" {
		return "user " + sid
	}
	return fmt.Sprintf("uid %d", uid)
}

// ErrUnknown reports that the kernel could not say who the peer is.
var ErrUnknown = errors.New("the peer of the connection cannot be identified")

// OtherUserError reports a peer that runs as another user.
type OtherUserError struct {
	Self Self
	Peer Peer
}

func (e *OtherUserError) Error() string {
	return fmt.Sprintf("the other end runs as %s (pid %d), not as this user (%s)", e.Peer.User(), e.Peer.PID, e.Self.User())
}

// Check reports why peer (as Of returned it, with ofErr) is not self's own
// user, or nil when it is. Where the kernel could not say, the answer is
// no: an unknown peer is never trusted.
func Check(self Self, peer Peer, ofErr error) error {
	switch {
	case ofErr != nil:
		return fmt.Errorf("%w: %w", ErrUnknown, ofErr)
	case self.SID != "" || peer.SID != "":
		if self.SID == "" || peer.SID != self.SID {
			return &OtherUserError{Self: self, Peer: peer}
		}
	case peer.UID < 0 || peer.UID != self.UID:
		return &OtherUserError{Self: self, Peer: peer}
	}
	return nil
}
