//go:build linux

// Command chaos is codecommitd's fault suite (`make chaos`): it runs the real
// git through the real helpers and daemon against the stand-ins of package
// testenv while things go wrong, and prints what users would have felt:
//
//	(1) STS failing for ten minutes while credentials issued for eleven are
//	    warm: failed git operations while the credentials last (want 0), and
//	    recovery without a restart when STS comes back. It runs in real
//	    time scaled down 30 times (the daemon, in this process, with its
//	    refresh policy divided by 30), so ten minutes pass in 20 seconds;
//	(2) the daemon killed with kill -9 while 32 git operations loop in
//	    parallel, git given a signed password (CODECOMMITD_TRANSPORT=direct):
//	    failed operations (want 0), and STS calls made by the daemons that
//	    follow (want 0: they start warm from the cache);
//	(3) 64 clients × 50 requests: failures (want 0), and the daemon's RSS and
//	    open descriptors before and after;
//	(4) garbage, truncated frames, oversized length prefixes and 10 MiB
//	    messages on the socket: the daemon stays up, answers the next
//	    request, and logs no panic;
//	(5) a cache folder that is read-only, or full: the daemon serves, and
//	    says so once (needs root to mount; skipped otherwise);
//	(6) the key location a cache records squatted by another user (their
//	    folder, a FIFO as the key; needs root) or a dangling link, while git
//	    runs with no daemon, on demand and through the one-shot: failed
//	    operations (want 0) and the time each waited (want ≤ 5 s more);
//	(7) the daemon stopped with SIGSTOP, before git operations and while
//	    they wait on a slow STS: failed operations (want 0), and the seconds
//	    each waited beyond a running daemon's (want at most 5);
//	(8) more connections than the daemon admits, each holding a health
//	    Watch, from one process and from eight, while git operations run:
//	    failed operations and fallbacks (want 0), and the seconds each took
//	    (want: as without them);
//	(9) the daemon killed with kill -9 while 32 git operations loop in
//	    parallel through its git transport: operations that fail while under
//	    way at the kill (each must say so in the helper's line), and those
//	    started after it that fail (want 0);
//	(10) a git stand-in that closes connections idle for 5 s, and 200 git
//	    operations through the transport in bursts 5 s apart: failed
//	    operations (want 0).
//
// It exits non-zero when a figure misses its target.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

func main() {
	if spec := os.Getenv(envWatcher); spec != "" {
		watcherMain(spec) // a child of scenario (7)
		return
	}
	binDir := flag.String("bin", "bin", "directory holding the built binaries")
	only := flag.String("only", "", "run only the scenarios whose numbers are listed, comma-separated, e.g. 1,4,10")
	flag.Parse()
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	scenarios := []struct {
		n    string
		name string
		run  func(ctx context.Context, bin string) (ok bool, err error)
	}{
		{"1", "STS down for ten minutes with warm credentials", stsOutage},
		{"2", "kill -9 during 32 parallel git operations", killDuringLoad},
		{"3", "64 clients × 50 requests", manyClients},
		{"4", "garbage on the socket", garbage},
		{"5", "read-only or full cache folder", cacheFolder},
		{"6", "the recorded key location squatted", squattedKey},
		{"7", "the daemon stopped (SIGSTOP) before and during git operations", stoppedDaemon},
		{"8", "more connections than the daemon admits, each holding a health Watch", heldStreams},
		{"9", "kill -9 during 32 parallel git operations through the git transport", killDuringTransport},
		{"10", "a git server closing idle connections every 5 s, 200 operations through the git transport", idleCloses},
	}
	selected := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		selected[strings.TrimSpace(n)] = true
	}
	failed := false
	start := time.Now()
	for _, s := range scenarios {
		if *only != "" && !selected[s.n] {
			continue
		}
		fmt.Printf("(%s) %s\n", s.n, s.name)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		ok, err := s.run(ctx, bin)
		cancel()
		switch {
		case err != nil:
			fmt.Printf("    ERROR: %v\n", err)
			failed = true
		case !ok:
			fmt.Println("    FAILED: a figure above misses its target")
			failed = true
		default:
			fmt.Println("    ok")
		}
		fmt.Println()
	}
	fmt.Printf("fault suite took %s\n", time.Since(start).Round(time.Second))
	if failed {
		os.Exit(1)
	}
}

// lsRemote runs one git operation through the helper and reports whether
// it worked, and whether the helper fell back to resolving in-process.
func lsRemote(ctx context.Context, e *testenv.Env, extra ...string) (ok, fellBack bool, stderr string) {
	cmd := e.Command(ctx, "", "git", "ls-remote", "codecommit://dev@repo")
	cmd.Env = append(cmd.Env, extra...)
	var out strings.Builder
	cmd.Stderr = &out
	err := cmd.Run()
	return err == nil, strings.Contains(out.String(), "resolving in this process"), out.String()
}

func mark(ok bool) string {
	if ok {
		return "  ✓"
	}
	return "  ✗"
}

// noPanic reports whether a daemon log shows no crash.
func noPanic(log string) bool {
	for _, bad := range []string{"panic", "fatal error", "goroutine "} {
		if strings.Contains(log, bad) {
			return false
		}
	}
	return true
}
