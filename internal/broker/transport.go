package broker

import (
	"context"
	"log/slog"
	"time"
)

// Transporter opens the daemon's git transport for one repository: git
// then reaches it on a loopback URL, and the daemon signs every request it
// forwards. The daemon implements it; package client implements it over
// the wire.
type Transporter interface {
	// OpenTransport resolves req as SignURL does (with the same errors)
	// and grants a capability, which lasts until it is released, ctx
	// ends, or the daemon ends it.
	OpenTransport(ctx context.Context, req *TransportRequest) (*Capability, error)
}

// TransportRequest asks for a capability: the repository and how to
// resolve it, as for SignURL, and git's settings that may apply to the
// repository's https URL. The client cannot match them itself: it does
// not know the host before the daemon resolves the profile.
type TransportRequest struct {
	SignRequest
	// GitConfig is every http.* entry of git's configuration and the
	// remote's remote.<name>.proxy, in the order git reads them.
	GitConfig []ConfigEntry
	// GitEnv holds the caller's values of the variables git's https
	// helper reads for its connection (envvar.GitHTTP), and only those.
	GitEnv map[string]string
}

// ConfigEntry is one entry of git's configuration: the key with its
// section and name in lower case, its subsection as written; NoValue
// reports a key without "=" (a boolean true).
type ConfigEntry struct {
	Key, Value string
	NoValue    bool
}

// Capability is a grant of the daemon's git transport: git reaches the
// repository at URL, sending Header with every request, while it lasts.
// Header is a secret: it is kept out of logs and fmt output.
type Capability struct {
	// URL is the loopback URL, http://127.0.0.1:<port>/v1/repos/<repo>.
	URL string
	// Header is the header line git sends with every request to URL.
	Header string
	// Profile and Region are what the requests are signed for.
	Profile, Region string
	// Warnings are one-line notes for the user.
	Warnings []string
	// Ended is closed when the capability ended without Release: the
	// daemon stopped, or the connection to it broke. Nil: it never ends
	// so.
	Ended <-chan struct{}
	// Release ends the capability; it may be called more than once. Nil:
	// nothing to do.
	Release func()
}

// String keeps the header out of fmt's %v and %s.
func (c *Capability) String() string { return "Capability{" + c.URL + " profile=" + c.Profile + "}" }

// GoString keeps the header out of fmt's %#v.
func (c *Capability) GoString() string { return c.String() }

// LogValue keeps the header out of logs.
func (c *Capability) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("profile", c.Profile), slog.String("region", c.Region))
}

// TransportStatus describes the daemon's git transport.
type TransportStatus struct {
	// URL is where it listens, http://127.0.0.1:<port>.
	URL string
	// Grants is how many capabilities are in use.
	Grants int
	// Conns are its upstream connections, oldest first.
	Conns []TransportConn
}

// TransportConn describes one upstream connection of the transport.
type TransportConn struct {
	// Host is the endpoint, host:port; Proxy the proxy it goes through
	// (redacted), "" for none; Protocol "h2" or "http/1.1".
	Host, Proxy, Protocol string
	// Opened is when it was opened, LastUsed when a request last started
	// or ended on it.
	Opened, LastUsed time.Time
	// InFlight is how many requests it carries now, Requests how many it
	// has carried.
	InFlight int
	Requests int64
}
