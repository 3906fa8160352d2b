//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/gitserver"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// coldIdle is the transport's idle time while (g) and (i) measure a cold
// transport: a run waits coldWait, longer than it, so the daemon has
// closed its upstream connection, as it would after the default 10
// minutes without git.
const (
	coldIdle = 300 * time.Millisecond
	coldWait = 400 * time.Millisecond
)

// baselineEnv is the environment of git run without the transport (the
// direct path and a pre-signed URL), set by trustSystemCAs; directEnv adds
// the direct path's setting.
var baselineEnv, directEnv []string

// trustSystemCAs makes git run without the transport trust the stand-in's
// CA among the system's, as git does against CodeCommit: its TLS library
// then reads every certificate of the system, on each connection, instead
// of the one file GIT_SSL_CAINFO names. Through the transport git makes no
// TLS connection, and the daemon reads its roots once.
func trustSystemCAs(e *testenv.Env) error {
	dir := filepath.Join(e.Dir, "system-cas")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const system = "/etc/ssl/certs"
	entries, err := os.ReadDir(system)
	if err != nil {
		return fmt.Errorf("the system's certificates: %w", err)
	}
	for _, en := range entries {
		if !en.IsDir() {
			if err := os.Symlink(filepath.Join(system, en.Name()), filepath.Join(dir, en.Name())); err != nil {
				return err
			}
		}
	}
	ca, err := os.ReadFile(e.Git.CAFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "codecommitd-stand-in.pem"), ca, 0o644); err != nil {
		return err
	}
	baselineEnv = []string{"GIT_SSL_CAINFO", "GIT_SSL_CAPATH=" + dir}
	directEnv = append(slices.Clone(baselineEnv), envvar.Transport+"=direct")
	return nil
}

// setEnv sets each NAME=value of kv in cmd's environment, replacing what
// was there, and removes each bare NAME.
func setEnv(cmd *exec.Cmd, kv []string) {
	for _, x := range kv {
		name, _, _ := strings.Cut(x, "=")
		cmd.Env = slices.DeleteFunc(cmd.Env, func(v string) bool { return strings.HasPrefix(v, name+"=") })
		if strings.Contains(x, "=") {
			cmd.Env = append(cmd.Env, x)
		}
	}
}

// coldOperations is (g): the first ls-remote and fetch after the idle
// time, through the transport, against a pre-signed URL, and (i): 16
// parallel ls-remote on a cold transport and on the direct path. It
// restarts the daemon with a short idle time and again with the default
// after.
func coldOperations(ctx context.Context, e *testenv.Env, runs int) (err error) {
	defer func() {
		if rerr := restartDaemon(ctx, e); err == nil {
			err = rerr
		}
	}()
	if want("g") {
		if err := coldTable(ctx, e, runs); err != nil {
			return err
		}
	}
	if want("i") {
		return parallel(ctx, e, max(runs/4, 5))
	}
	return nil
}

// coldTable is (g).
func coldTable(ctx context.Context, e *testenv.Env, runs int) error {
	ops, err := operations(ctx, e, false)
	if err != nil {
		return err
	}
	fmt.Printf("(g) the first git operation after the transport's idle time (cold: it dials on the helper's request), %d interleaved runs, medians\n", runs)
	fmt.Printf("    %-28s %-6s %10s %10s %6s   %-16s %-9s %s\n", "operation", "RTT", "transport", "pre-signed", "t/p", "requests (401)", "TCP", "TLS")
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond} {
		if err := setRTT(ctx, e, rtt, "--transport-idle", coldIdle.String()); err != nil {
			return err
		}
		for _, op := range ops {
			tr, signed := way{name: "transport"}, way{name: "pre-signed", env: baselineEnv}
			for range runs {
				presigned, err := presignURL(ctx, e, op.repo)
				if err != nil {
					return err
				}
				for _, w := range []*way{&tr, &signed} {
					url := "codecommit://bench@" + op.repo
					if w == &signed {
						url = presigned
					}
					cmd, err := op.cmd(ctx, nextRun(), url)
					if err != nil {
						return err
					}
					time.Sleep(coldWait) // a benchmark's pause, not synchronisation: the idle time passes
					if err := w.measure(e, cmd); err != nil {
						return fmt.Errorf("%s (%s, RTT %s): %w", op.name, w.name, rtt, err)
					}
				}
			}
			t, p := median(tr.took), median(signed.took)
			both := func(show func(counts) string) string { return tr.span(show) + " vs " + signed.span(show) }
			fmt.Printf("    %-28s %-6s %10s %10s %6.2f   %-16s %-9s %s\n", op.name, rtt, t, p, float64(t)/float64(p),
				both(func(c counts) string { return fmt.Sprintf("%d (%d)", c.requests, c.unauthorized) }),
				both(func(c counts) string { return strconv.Itoa(c.tcp) }),
				both(func(c counts) string { return strconv.Itoa(c.tls) }))
		}
	}
	fmt.Println("    target: t/p ≤ 0.8 at RTT 100 ms")
	fmt.Println()
	return nil
}

// parallel is (i): 16 git ls-remote started at once at RTT 100 ms, on a
// cold transport and on the direct path.
func parallel(ctx context.Context, e *testenv.Env, rounds int) error {
	const n = 16
	if err := setRTT(ctx, e, 100*time.Millisecond, "--transport-idle", coldIdle.String()); err != nil {
		return err
	}
	type result struct {
		took  []time.Duration
		conns []gitserver.Conns
	}
	var tr, direct result
	for range rounds {
		for _, r := range []*result{&tr, &direct} {
			time.Sleep(coldWait) // the transport's connection is closed for idleness
			before := e.Git.Conns()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					cmd := e.Command(ctx, "", "git", "ls-remote", "codecommit://bench@repo")
					if r == &direct {
						setEnv(cmd, directEnv)
					}
					if out, err := cmd.CombinedOutput(); err != nil {
						errs <- fmt.Errorf("parallel ls-remote: %w: %s", err, out)
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				return err
			}
			r.took = append(r.took, time.Since(start))
			r.conns = append(r.conns, e.Git.Conns().Sub(before))
		}
	}
	show := func(cs []gitserver.Conns) string {
		var seen []string
		for _, c := range cs {
			v := fmt.Sprintf("%d TCP, %d TLS, %d HTTP/2", c.TCP, c.TLS, c.HTTP2)
			if !slices.Contains(seen, v) {
				seen = append(seen, v)
			}
		}
		return strings.Join(seen, " | ")
	}
	fmt.Printf("(i) %d parallel git ls-remote at RTT 100 ms, cold, %d interleaved rounds, medians of the whole round\n", n, rounds)
	fmt.Printf("    transport %10s   upstream: %s\n", median(tr.took), show(tr.conns))
	fmt.Printf("    direct    %10s   upstream: %s\n", median(direct.took), show(direct.conns))
	fmt.Println("    target: the transport's 16 share 1 connection over HTTP/2")
	fmt.Println()
	return nil
}

// submodules is (h): git fetch --recurse-submodules with nothing new in
// a clone with 20 submodules, fetched one after another as git does by
// default, at RTT 100 ms, through the transport and the direct path.
func submodules(ctx context.Context, e *testenv.Env, runs int) error {
	const n = 20
	if err := seedSuperproject(ctx, e, "super", n); err != nil {
		return err
	}
	allow := []string{"-c", "protocol.codecommit.allow=always"}
	if _, stderr, err := e.Run(ctx, "", "git", append(allow, "clone", "--quiet", "--recurse-submodules", "codecommit://bench@super", "super")...); err != nil {
		return fmt.Errorf("clone with submodules: %w: %s", err, stderr)
	}
	if err := setRTT(ctx, e, 100*time.Millisecond); err != nil {
		return err
	}
	tr, direct := way{name: "transport"}, way{name: "direct", env: directEnv}
	for range runs {
		for _, w := range []*way{&tr, &direct} {
			cmd := e.Command(ctx, "super", "git", append(allow, "fetch", "--quiet", "--recurse-submodules=yes")...)
			if err := w.measure(e, cmd); err != nil {
				return fmt.Errorf("fetch of the submodules (%s): %w", w.name, err)
			}
		}
	}
	t, d := median(tr.took), median(direct.took)
	fmt.Printf("(h) git fetch --recurse-submodules=yes, nothing new, %d submodules one after another, RTT 100 ms, %d interleaved runs, medians\n", n, runs)
	fmt.Printf("    transport %10s   direct %10s   t/d %.2f  (target ≤ 0.55)\n", t, d, float64(t)/float64(d))
	fmt.Printf("    per fetch of all %d: requests %s vs %s, upstream TCP connections %s vs %s\n", n+1,
		tr.span(func(c counts) string { return strconv.Itoa(c.requests) }), direct.span(func(c counts) string { return strconv.Itoa(c.requests) }),
		tr.span(func(c counts) string { return strconv.Itoa(c.tcp) }), direct.span(func(c counts) string { return strconv.Itoa(c.tcp) }))
	fmt.Println()
	return nil
}

// bigClone is (j): a clone of a repository of 200 MB of incompressible
// data at RTT 0, through the transport and the direct path, with the
// daemon's resident memory sampled while the transport carries it.
func bigClone(ctx context.Context, e *testenv.Env, runs int) error {
	const size = 200 << 20
	if err := seedBig(ctx, e, "big", size); err != nil {
		return err
	}
	if err := setRTT(ctx, e, 0); err != nil {
		return err
	}
	pid := e.DaemonPID()
	tr, direct := way{name: "transport"}, way{name: "direct", env: directEnv}
	var growth int64
	for run := range runs {
		for _, w := range []*way{&tr, &direct} {
			dir := fmt.Sprintf("big-%s-%d", w.name, run)
			cmd := e.Command(ctx, "", "git", "clone", "--quiet", "--bare", "codecommit://bench@big", dir)
			stop := make(chan struct{})
			peak := make(chan int64, 1)
			before, err := rssOf(pid)
			if err != nil {
				return err
			}
			go func() { peak <- sampleRSS(pid, stop) }()
			err = w.measure(e, cmd)
			close(stop)
			if p := <-peak; w == &tr {
				growth = max(growth, p-before)
			}
			if err != nil {
				return fmt.Errorf("200 MB clone (%s): %w", w.name, err)
			}
			os.RemoveAll(filepath.Join(e.Dir, dir))
		}
	}
	t, d := median(tr.took), median(direct.took)
	mbps := func(took time.Duration) float64 { return float64(size) / (1 << 20) / took.Seconds() }
	fmt.Printf("(j) git clone --bare of 200 MB (incompressible) at RTT 0, %d interleaved runs, medians\n", runs)
	fmt.Printf("    transport %10s (%.0f MiB/s)   direct %10s (%.0f MiB/s)   throughput %.0f%% of direct  (target ≥ 90%%)\n",
		t, mbps(t), d, mbps(d), 100*float64(d)/float64(t))
	fmt.Printf("    daemon RSS growth while the transport carried it: %.1f MiB at most  (target ≤ 10 MiB)\n", float64(growth)/(1<<20))
	fmt.Println()
	return nil
}

// sampleRSS returns the largest resident size of pid seen every 5 ms
// until stop is closed.
func sampleRSS(pid int, stop <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if rss, err := rssOf(pid); err == nil {
			peak = max(peak, rss)
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

func presignURL(ctx context.Context, e *testenv.Env, repo string) (string, error) {
	out, stderr, err := e.Run(ctx, "", "codecommitd", "sign-url", "codecommit://bench@"+repo)
	if err != nil {
		return "", fmt.Errorf("sign-url: %w: %s", err, stderr)
	}
	return strings.TrimSpace(out), nil
}

// setRTT sets the link's round-trip time and restarts the daemon with
// args, so the transport's connection is one opened at that RTT (the link
// delays connections it accepts from then on), and warms it with one
// ls-remote.
func setRTT(ctx context.Context, e *testenv.Env, rtt time.Duration, args ...string) error {
	if err := e.SetRTT(rtt); err != nil {
		return err
	}
	if err := restartDaemon(ctx, e, args...); err != nil {
		return err
	}
	if _, stderr, err := e.Run(ctx, "", "git", "ls-remote", "codecommit://bench@repo"); err != nil {
		return fmt.Errorf("warm-up at RTT %s: %w: %s", rtt, err, stderr)
	}
	return nil
}

func restartDaemon(ctx context.Context, e *testenv.Env, args ...string) error {
	e.StopDaemon()
	return e.StartDaemon(ctx, append([]string{"--log-level", "error"}, args...)...)
}

// seedSuperproject makes repositories name-0 … name-(n-1), each with one
// commit, and name, whose one commit has them as submodules at
// codecommit://bench@name-i.
func seedSuperproject(ctx context.Context, e *testenv.Env, name string, n int) error {
	src := filepath.Join(e.Dir, "seed-"+name)
	steps := [][]string{{"git", "init", "--quiet", "--initial-branch=main", src}}
	var modules strings.Builder
	for i := range n {
		sub := fmt.Sprintf("%s-%d", name, i)
		if err := e.Seed(ctx, sub); err != nil {
			return err
		}
		head, stderr, err := e.Run(ctx, "", "git", "-C", e.Git.RepoDir(sub), "rev-parse", "main")
		if err != nil {
			return fmt.Errorf("rev-parse %s: %w: %s", sub, err, stderr)
		}
		fmt.Fprintf(&modules, "[submodule %q]\n\tpath = %s\n\turl = codecommit://bench@%s\n", sub, sub, sub)
		steps = append(steps, []string{"git", "-C", src, "update-index", "--add", "--cacheinfo", "160000," + strings.TrimSpace(head) + "," + sub})
	}
	if err := e.Git.CreateRepo(name); err != nil {
		return err
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, ".gitmodules"), []byte(modules.String()), 0o644); err != nil {
		return err
	}
	steps = append(steps,
		[]string{"git", "-C", src, "add", ".gitmodules"},
		[]string{"git", "-C", src, "commit", "--quiet", "-m", "submodules"},
		[]string{"git", "-C", src, "push", "--quiet", e.Git.RepoDir(name), "main"})
	return runSteps(ctx, e, steps)
}

// seedBig makes repository name with one commit of size bytes of random
// data in 8 files.
func seedBig(ctx context.Context, e *testenv.Env, name string, size int) error {
	if err := e.Git.CreateRepo(name); err != nil {
		return err
	}
	src := filepath.Join(e.Dir, "seed-"+name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	const files = 8
	b := make([]byte, size/files)
	for i := range files {
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("blob-%d", i)), b, 0o644); err != nil {
			return err
		}
	}
	return runSteps(ctx, e, [][]string{
		{"git", "-C", src, "init", "--quiet", "--initial-branch=main"},
		{"git", "-C", src, "-c", "core.compression=0", "add", "."},
		{"git", "-C", src, "commit", "--quiet", "-m", "big"},
		{"git", "-C", src, "push", "--quiet", e.Git.RepoDir(name), "main"},
	})
}

func runSteps(ctx context.Context, e *testenv.Env, steps [][]string) error {
	for _, s := range steps {
		if _, stderr, err := e.Run(ctx, "", s[0], s[1:]...); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return nil
}
