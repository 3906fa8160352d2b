package admin

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// TransportSummary is the one line that says what the daemon's git
// transport is doing (for status, and for doctor): where it listens, the
// git operations it carries and its upstream connections, or that it does
// not run (git then gets a signed password).
func TransportSummary(t *broker.TransportStatus) string {
	if t == nil {
		return "git transport: not running (git-remote-codecommit hands git a signed password); the daemon's log says why"
	}
	return fmt.Sprintf("git transport: %s, %d git operation(s) under way, %d upstream connection(s)", t.URL, t.Grants, len(t.Conns))
}

type transportJSON struct {
	URL         string              `json:"url"`
	Grants      int                 `json:"grants"`
	Connections []transportConnJSON `json:"connections"`
}

type transportConnJSON struct {
	Host        string     `json:"host"`
	Proxy       string     `json:"proxy,omitempty"`
	Protocol    string     `json:"protocol"`
	OpenedAt    *time.Time `json:"opened_at,omitempty"`
	AgeSeconds  int64      `json:"age_seconds"`
	IdleSeconds int64      `json:"idle_seconds"`
	InFlight    int        `json:"in_flight"`
	Requests    int64      `json:"requests"`
}

func transportToJSON(t *broker.TransportStatus, now time.Time) *transportJSON {
	if t == nil {
		return nil
	}
	out := &transportJSON{URL: t.URL, Grants: t.Grants, Connections: []transportConnJSON{}}
	for _, c := range t.Conns {
		idle := int64(0)
		if c.InFlight == 0 {
			idle = int64(now.Sub(c.LastUsed).Seconds())
		}
		out.Connections = append(out.Connections, transportConnJSON{Host: c.Host, Proxy: c.Proxy, Protocol: c.Protocol, OpenedAt: optTime(c.Opened),
			AgeSeconds: int64(now.Sub(c.Opened).Seconds()), IdleSeconds: idle, InFlight: c.InFlight, Requests: c.Requests})
	}
	return out
}

// writeTransportText prints the transport's line and a table of its
// upstream connections.
func writeTransportText(w io.Writer, t *broker.TransportStatus, now time.Time) error {
	fmt.Fprintln(w, TransportSummary(t))
	if t == nil || len(t.Conns) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOST\tPROTOCOL\tAGE\tIDLE\tIN FLIGHT\tREQUESTS\tPROXY")
	for _, c := range t.Conns {
		idle := "-"
		if c.InFlight == 0 {
			idle = now.Sub(c.LastUsed).Round(time.Second).String()
		}
		proxy := c.Proxy
		if proxy == "" {
			proxy = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%s\n", c.Host, c.Protocol, now.Sub(c.Opened).Round(time.Second), idle, c.InFlight, c.Requests, proxy)
	}
	return tw.Flush()
}
