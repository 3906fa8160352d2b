//go:build unix

package e2e

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/daemon"
)

// TestADaemonOpeningASlowCacheIsWaitedFor: a daemon whose cache takes 3 s
// to open (a keyring slow to answer) holds its instance lock and listens
// only once it can answer. Meanwhile a second daemon fails at once, saying
// the first is starting, and git's helper, finding no socket, waits for the
// first (the daemon it starts says one is starting) instead of falling back
// with "does not answer" after its 2 s first-byte deadline.
func TestADaemonOpeningASlowCacheIsWaitedFor(t *testing.T) {
	const slow = 3 * time.Second
	e, _ := roleEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", e.STS.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	opening := make(chan struct{})
	dctx, stop := context.WithCancel(context.Background())
	ready, ended := make(chan error, 1), make(chan error, 1)
	go func() {
		ended <- daemon.Run(dctx, daemon.Config{Socket: e.Socket, Log: slog.New(slog.DiscardHandler),
			Ready: func(err error) { ready <- err },
			OpenStore: func() (daemon.StoreInfo, error) {
				close(opening)
				time.Sleep(slow) // the slow cache itself
				return daemon.StoreInfo{}, nil
			}})
	}()
	defer func() { stop(); <-ended }()
	<-opening

	start := time.Now()
	_, stderr, err := e.Run(ctx(t), "", filepath.Join(bin, "codecommitd"), "run")
	if err == nil || !strings.Contains(stderr, "already running") || !strings.Contains(stderr, "is starting") {
		t.Errorf("a second daemon while the first opens its cache: %v, %q; want a refusal saying it is starting", err, stderr)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the second daemon took %s to give up, want at once", took.Round(time.Millisecond))
	}

	_, stderr, err = e.Run(ctx(t), "", "git", "ls-remote", "codecommit://dev@repo")
	if err != nil || strings.Contains(stderr, "resolving in this process") {
		t.Fatalf("git while the daemon opens its cache: %v\n%s", err, stderr)
	}
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(e.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != os.Getpid() || len(st.Profiles) != 1 || st.Profiles[0].Requests != 1 {
		t.Errorf("status: pid %d (want this test's %d), profiles %+v; want git's request served by the slow daemon", st.PID, os.Getpid(), st.Profiles)
	}
}
