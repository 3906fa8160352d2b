//go:build unix

package e2e

import (
	"testing"
	"time"
)

// TestGitThroughAWANLink runs git ls-remote through the helper with a WAN
// link in front of the git stand-in (testenv.SetRTT): every connection
// goes through the link, git negotiates HTTP/2 with the stand-in over ALPN
// and verifies its certificate at the link's address, and the operation
// pays the link's round trips: one to connect, one for TLS, one per
// request.
func TestGitThroughAWANLink(t *testing.T) {
	const rtt = 50 * time.Millisecond
	e, _ := roleEnv(t)
	if err := e.StartDaemon(ctx(t)); err != nil {
		t.Fatal(err)
	}
	git(t, e, "", "ls-remote", "codecommit://dev@repo") // warm: STS is not on the link
	if err := e.SetRTT(rtt); err != nil {
		t.Fatal(err)
	}
	conns0, carried0 := e.Git.Conns(), e.Link.Stats()
	reqs0, unauth0 := e.Git.Seen()
	start := time.Now()
	git(t, e, "", "ls-remote", "codecommit://dev@repo")
	took := time.Since(start)
	conns, carried := e.Git.Conns().Sub(conns0), e.Link.Stats().Sub(carried0)
	reqs1, unauth1 := e.Git.Seen()
	reqs, unauth := reqs1-reqs0, unauth1-unauth0

	if conns.TCP == 0 || carried.Conns != int64(conns.TCP) {
		t.Fatalf("the link carried %d connections, the stand-in accepted %d: git did not go through the link", carried.Conns, conns.TCP)
	}
	if conns.HTTP2 != conns.TLS {
		t.Errorf("%d of %d TLS connections negotiated HTTP/2: git's libcurl should on every one", conns.HTTP2, conns.TLS)
	}
	if unauth != 0 {
		t.Errorf("%d 401s", unauth)
	}
	if want := time.Duration(2*conns.TCP+reqs) * rtt; took < want {
		t.Errorf("git ls-remote took %s over %d connections and %d requests, want ≥ %s (RTT %s)", took, conns.TCP, reqs, want, rtt)
	}
	t.Logf("%d connections, %d requests, %d bytes up and %d down, %s", conns.TCP, reqs, carried.Up, carried.Down, took)
}
