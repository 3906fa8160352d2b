//go:build unix

// Command bench measures the numbers the design promises and prints them; `make bench` runs it after the Go benchmarks.
//
//	(a) git-remote-codecommit's wall time per call with a warm daemon, git
//	    replaced by a stub that exits at once, against a no-op Go program
//	    built here: the ratio of medians over -runs runs (keep under 4);
//	(b) signed URLs per second through a running daemon, from -clients
//	    concurrent gRPC clients for -duration (target ≥ 20,000/s on 2 cores);
//	(c) the daemon's resident memory after 10,000 requests (target ≤ 20 MiB);
//	(e), (f) whole git ls-remote, fetch and push through the helper (the
//	    daemon's git transport, warm, and the direct path) against the same
//	    git given a pre-signed URL, through a WAN link (package wanlink) at
//	    RTT 0, 50 ms and 100 ms, with the requests, 401s, TCP connections
//	    and TLS handshakes each made;
//	(g) the same ls-remote and fetch on a cold transport (the first after
//	    its idle time);
//	(h) a clone with 20 submodules at RTT 100 ms, transport and direct;
//	(i) 16 parallel ls-remote at RTT 100 ms: the time, and how many
//	    upstream connections (HTTP/2 or not) each way opened;
//	(j) a 200 MB clone at RTT 0: the transport's throughput against the
//	    direct path, and how much the daemon's memory grew.
//
// Everything runs against the stand-ins of package testenv, so no AWS
// account is needed and STS is never on the measured path.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

func main() {
	binDir := flag.String("bin", "bin", "directory holding the built binaries")
	runs := flag.Int("runs", 200, "runs per program for (a)")
	clients := flag.Int("clients", 16, "concurrent clients for (b)")
	duration := flag.Duration("duration", 3*time.Second, "how long to measure (b)")
	flag.StringVar(&only, "only", "", "measure only these, e.g. ae (default: all)")
	flag.Parse()
	if err := run(*binDir, *runs, *clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// only lists the measurements to make; "" means all.
var only string

func want(m string) bool { return only == "" || strings.Contains(only, m) }

func run(binDir string, runs, clients int, duration time.Duration) error {
	ctx := context.Background()
	e, err := testenv.Temp(binDir, "bench")
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.StartDaemon(ctx, "--log-level", "error"); err != nil {
		return err
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), goVersion())

	// (c) memory of a fresh daemon after 10,000 requests.
	c, err := client.Dial(e.Socket)
	if err != nil {
		return err
	}
	defer c.Close()
	req := &broker.SignRequest{Profile: "bench", Repository: "repo", Env: map[string]string{"HOME": e.Home, "CODE_COMMIT_ENDPOINT": e.Git.Host}}
	if want("c") {
		if err := memory(ctx, e, c, req); err != nil {
			return err
		}
	}
	if want("a") {
		if err := startup(ctx, e, e.Bin, e.Dir, runs); err != nil {
			return err
		}
	}
	if want("b") {
		if err := throughput(ctx, c, req, clients, duration); err != nil {
			return err
		}
	}
	if err := trustSystemCAs(e); err != nil {
		return err
	}
	// From here on the daemon is restarted: after each change of RTT, so
	// the transport's connection is one opened at that RTT, and with a
	// short idle time for (g) and (i).
	if want("e") || want("f") {
		if err := wholeOperations(ctx, e, max(runs/8, 21)); err != nil {
			return err
		}
	}
	steps := []struct {
		parts string
		run   func() error
	}{
		{"h", func() error { return submodules(ctx, e, 5) }},
		{"gi", func() error { return coldOperations(ctx, e, max(runs/8, 21)) }},
		{"j", func() error { return bigClone(ctx, e, 3) }},
	}
	for _, s := range steps {
		if strings.ContainsAny(s.parts, only) || only == "" {
			if err := s.run(); err != nil {
				return err
			}
		}
	}
	return nil
}

func memory(ctx context.Context, e *testenv.Env, c *client.Client, req *broker.SignRequest) error {
	for range 10000 {
		if _, err := c.SignURL(ctx, req); err != nil {
			return err
		}
	}
	rss, err := rssOf(e.DaemonPID())
	if err != nil {
		return err
	}
	fmt.Printf("(c) daemon RSS after 10000 requests: %.1f MiB  (target ≤ 20 MiB)\n", float64(rss)/(1<<20))
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", e.DaemonPID())); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "Pss_Anon") || strings.HasPrefix(line, "Pss_File") {
				fmt.Println("   ", line)
			}
		}
	}
	fmt.Println()
	return nil
}

func startup(ctx context.Context, e *testenv.Env, bin, dir string, runs int) error {
	noop, stub, err := buildBaselines(dir)
	if err != nil {
		return err
	}
	// (a) helper start-up.
	stubDir := filepath.Join(dir, "stubgit")
	if err := os.MkdirAll(stubDir, 0o755); err != nil {
		return err
	}
	if err := copyFile(stub, filepath.Join(stubDir, "git")); err != nil {
		return err
	}
	helper := exec.Command(filepath.Join(bin, "git-remote-codecommit"), "origin", "codecommit://bench@repo")
	helper.Env = append(e.Environ(), "PATH="+stubDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := helper.CombinedOutput(); err != nil { // warms the daemon
		return fmt.Errorf("helper warm-up: %w: %s", err, out)
	}
	tNoop := median(timeRuns(runs, func() *exec.Cmd { return exec.Command(noop) }))
	tStub := median(timeRuns(runs, func() *exec.Cmd { return exec.Command(stub) }))
	tHelper := median(timeRuns(runs, func() *exec.Cmd {
		c := exec.Command(helper.Path, helper.Args[1:]...)
		c.Env = helper.Env
		return c
	}))
	fmt.Printf("(a) helper start-up, median of %d runs each\n", runs)
	fmt.Printf("    no-op Go program          %8s\n", tNoop)
	fmt.Printf("    git stub (exits at once)  %8s\n", tStub)
	fmt.Printf("    git-remote-codecommit     %8s  (includes exec of the stub)\n", tHelper)
	fmt.Printf("    ratio helper / no-op      %8.2f  (keep under 4)\n", float64(tHelper)/float64(tNoop))
	fmt.Printf("    ratio without the stub    %8.2f\n\n", float64(tHelper-tStub)/float64(tNoop))

	return nil
}

// throughput is (b).
func throughput(ctx context.Context, c *client.Client, req *broker.SignRequest, clients int, duration time.Duration) error {
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := c.SignURL(ctx, req); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	rate := float64(n.Load()) / time.Since(start).Seconds()
	fmt.Printf("(b) signed URLs per second through the daemon: %.0f  (%d clients on one connection, %s; target ≥ 20000)\n\n", rate, clients, duration)

	return nil
}

func goVersion() string {
	out, _ := exec.Command("go", "version").Output()
	return strings.TrimSpace(string(out))
}

// buildBaselines builds the no-op Go program and the git stub: a static C
// program when a C compiler is at hand (the cheapest exec there is), else a
// copy of the no-op.
func buildBaselines(dir string) (noop, stub string, err error) {
	src := filepath.Join(dir, "noop")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	for name, text := range map[string]string{"go.mod": "module noop\ngo 1.26\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return "", "", err
		}
	}
	noop = filepath.Join(dir, "noop.bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", noop, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("building the no-op program: %w: %s", err, out)
	}
	stub = filepath.Join(dir, "stub.bin")
	csrc := filepath.Join(dir, "stub.c")
	// It answers --version like git (the helper asks once per binary).
	stubC := "#include <stdio.h>\n#include <string.h>\nint main(int c, char **v) { if (c > 1 && !strcmp(v[1], \"--version\")) puts(\"git version 2.39.5\"); return 0; }\n"
	if err := os.WriteFile(csrc, []byte(stubC), 0o644); err != nil {
		return "", "", err
	}
	if out, err := exec.Command("cc", "-O2", "-static", "-o", stub, csrc).CombinedOutput(); err != nil {
		fmt.Printf("note: no static C stub (%v %s); the git stub is the no-op Go program\n", err, strings.TrimSpace(string(out)))
		stub = noop
	}
	return noop, stub, nil
}

func timeRuns(n int, mk func() *exec.Cmd) []time.Duration {
	for range 10 { // warm the page cache
		_ = mk().Run() // failures show in the timed runs
	}
	out := make([]time.Duration, 0, n)
	for range n {
		c := mk()
		start := time.Now()
		if err := c.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "run failed:", err)
		}
		out = append(out, time.Since(start))
	}
	return out
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2].Round(time.Microsecond)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

func rssOf(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading the daemon's memory (Linux only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
