package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc/credentials"
)

// Peer is the process at the other end of a connection, as the kernel
// reports it. PID and Exe may be unknown (0, "") on some systems.
type Peer struct {
	// UID is the peer's user id; on Windows, -1 (see SID).
	UID int
	// SID is the peer's user SID on Windows.
	SID string
	PID int
	Exe string
	// SameUser reports whether the peer runs as the daemon's user.
	SameUser bool
	// Err is set when the kernel could not say who the peer is.
	Err error
}

// LogValue renders a peer for the audit log.
func (p Peer) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("pid", p.PID), slog.Int("uid", p.UID), slog.String("exe", p.Exe)}
	if p.SID != "" {
		attrs = append(attrs, slog.String("sid", p.SID))
	}
	return slog.GroupValue(attrs...)
}

// user names the peer's user in messages.
func (p Peer) user() string {
	if p.SID != "" {
		return "user " + p.SID
	}
	return fmt.Sprintf("uid %d", p.UID)
}

// AuthType implements credentials.AuthInfo.
func (Peer) AuthType() string { return "peercred" }

// peerCreds is a grpc TransportCredentials that does no encryption (the
// socket is local and private) but asks the kernel who connected. The
// handshake never fails on a stranger: the authorization interceptor
// answers it with PermissionDenied and a reason, which a refused
// connection could not carry.
type peerCreds struct{}

func (peerCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return conn, Peer{UID: -1, Err: fmt.Errorf("not a unix socket connection (%T)", conn)}, nil
	}
	return conn, peerOf(uc), nil
}

func (peerCreds) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, Peer{}, nil
}

func (peerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}

func (c peerCreds) Clone() credentials.TransportCredentials { return c }

func (peerCreds) OverrideServerName(string) error { return nil }

// authorize reports why p may not use the daemon, or nil if it may.
func authorize(p Peer) error {
	switch {
	case p.Err != nil:
		return fmt.Errorf("codecommitd could not identify the connecting process (%w), so it refuses it", p.Err)
	case !p.SameUser:
		return fmt.Errorf("codecommitd serves only its own user (%s); this connection comes from %s (pid %d %s); run your own daemon as that user",
			ownUser(), p.user(), p.PID, p.Exe)
	}
	return nil
}
