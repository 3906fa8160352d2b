//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/envvar"
	"github.com/codecommitd/codecommitd/internal/testenv"
)

// operation is one kind of git operation, run the helper's way and the
// pre-signed way.
type operation struct {
	name string
	repo string // the repository it reads or writes
	// cmd prepares run number run (in a folder of its own, never used by
	// another run) and returns the command.
	cmd func(ctx context.Context, run int, url string) (*exec.Cmd, error)
}

// operations are what (e), (f) and (g) measure: ls-remote, a fetch with
// nothing new, a fetch of 100 commits into an empty repository and, with
// push, a push of one commit. It seeds their repositories.
func operations(ctx context.Context, e *testenv.Env, push bool) ([]operation, error) {
	for _, repo := range []string{"hundred", "quiet"} {
		if _, err := os.Stat(e.Git.RepoDir(repo)); err == nil {
			continue // seeded by an earlier part
		}
		if err := seedHistory(ctx, e, repo, 100); err != nil {
			return nil, err
		}
	}
	// Work trees to fetch into and push from, cloned once.
	for repo, dir := range map[string]string{"quiet": "quietwt", "repo": "pushwt"} {
		if _, err := os.Stat(filepath.Join(e.Dir, dir)); err == nil {
			continue
		}
		if _, stderr, err := e.Run(ctx, "", "git", "clone", "--quiet", "codecommit://bench@"+repo, dir); err != nil {
			return nil, fmt.Errorf("clone of %s: %w: %s", repo, err, stderr)
		}
	}
	ops := []operation{
		{"git ls-remote", "repo", func(ctx context.Context, _ int, url string) (*exec.Cmd, error) {
			return e.Command(ctx, "", "git", "ls-remote", url), nil
		}},
		{"git fetch, nothing new", "quiet", func(ctx context.Context, _ int, url string) (*exec.Cmd, error) {
			return e.Command(ctx, "quietwt", "git", "fetch", "--quiet", url), nil
		}},
		{"git fetch, 100 commits", "hundred", func(ctx context.Context, run int, url string) (*exec.Cmd, error) {
			dir := fmt.Sprintf("fetch-%d", run)
			if _, stderr, err := e.Run(ctx, "", "git", "init", "--quiet", dir); err != nil {
				return nil, fmt.Errorf("%w: %s", err, stderr)
			}
			return e.Command(ctx, dir, "git", "fetch", "--quiet", url, "refs/heads/main"), nil
		}},
	}
	if push {
		ops = append(ops, operation{"git push, one commit", "repo", func(ctx context.Context, run int, url string) (*exec.Cmd, error) {
			if _, stderr, err := e.Run(ctx, "pushwt", "git", "commit", "--quiet", "--allow-empty", "-m", "bench "+strconv.Itoa(run)); err != nil {
				return nil, fmt.Errorf("%w: %s", err, stderr)
			}
			return e.Command(ctx, "pushwt", "git", "push", "--quiet", url, "HEAD:refs/heads/bench-"+strconv.Itoa(run)), nil
		}})
	}
	return ops, nil
}

// runCount numbers every run of an operation, across parts and RTTs: a fetch
// goes into an empty repository of its own each time.
var runCount int

func nextRun() int { runCount++; return runCount }

// wholeOperations measures (e) and (f).
func wholeOperations(ctx context.Context, e *testenv.Env, runs int) error {
	ops, err := operations(ctx, e, true)
	if err != nil {
		return err
	}
	fmt.Printf("(e), (f) whole git operations against the local stand-in through a WAN link, %d interleaved runs each, medians\n", runs)
	fmt.Printf("    the helper through the daemon's git transport (warm), the helper's direct path (%s=direct) and a pre-signed URL\n", envvar.Transport)
	fmt.Println("    (git without the transport trusts the stand-in's CA among the system's, as it does against CodeCommit)")
	fmt.Printf("    %-28s %-6s %10s %10s %10s %6s %6s   %-22s %-12s %s\n", "operation", "RTT", "transport", "direct", "pre-signed", "t/p", "d/p", "requests (401)", "TCP", "TLS")
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond} {
		if err := setRTT(ctx, e, rtt); err != nil {
			return err
		}
		for _, op := range ops {
			repo := op.repo
			helperURL := "codecommit://bench@" + repo
			ways := []*way{{name: "transport"}, {name: "direct", env: directEnv}, {name: "pre-signed", env: baselineEnv}}
			for range runs {
				presigned, err := presignURL(ctx, e, repo) // fresh each run: a password lasts 15 minutes
				if err != nil {
					return err
				}
				for _, w := range ways {
					url := helperURL
					if w.name == "pre-signed" {
						url = presigned
					}
					cmd, err := op.cmd(ctx, nextRun(), url)
					if err != nil {
						return err
					}
					if err := w.measure(e, cmd); err != nil {
						return fmt.Errorf("%s (%s, RTT %s): %w", op.name, w.name, rtt, err)
					}
				}
			}
			t, d, p := median(ways[0].took), median(ways[1].took), median(ways[2].took)
			all := func(show func(counts) string) string {
				return ways[0].span(show) + " / " + ways[1].span(show) + " / " + ways[2].span(show)
			}
			fmt.Printf("    %-28s %-6s %10s %10s %10s %6.2f %6.2f   %-22s %-12s %s\n", op.name, rtt, t, d, p, float64(t)/float64(p), float64(d)/float64(p),
				all(func(c counts) string { return fmt.Sprintf("%d (%d)", c.requests, c.unauthorized) }),
				all(func(c counts) string { return strconv.Itoa(c.tcp) }),
				all(func(c counts) string { return strconv.Itoa(c.tls) }))
		}
	}
	fmt.Println("    t/p, d/p: transport and direct over pre-signed (targets for the transport: ≤ 0.6 at RTT 0, ≤ 0.5 at 100 ms)")
	fmt.Println("    counts, transport / direct / pre-signed, per operation: HTTP requests (401s in brackets), TCP connections and TLS handshakes")
	fmt.Println("    the stand-in saw (every value seen, joined by |, where runs differed); the link costs each connection one RTT to open,")
	fmt.Println("    each chunk RTT/2 each way")
	fmt.Println()
	return nil
}

// counts are what one git operation cost the git stand-in, whatever the
// timing.
type counts struct{ requests, unauthorized, tcp, tls int }

func countsOf(e *testenv.Env) counts {
	reqs, unauth := e.Git.Seen()
	c := e.Git.Conns()
	return counts{requests: reqs, unauthorized: unauth, tcp: c.TCP, tls: c.TLS}
}

func (c counts) sub(o counts) counts {
	return counts{c.requests - o.requests, c.unauthorized - o.unauthorized, c.tcp - o.tcp, c.tls - o.tls}
}

// way is one way of running an operation (through the transport, the
// helper's direct path, or with a pre-signed URL): the time and the counts
// of each run.
type way struct {
	name string
	env  []string // added to the command's environment
	took []time.Duration
	seen []counts
}

// measure runs cmd the way's way and records its time and counts.
func (w *way) measure(e *testenv.Env, cmd *exec.Cmd) error {
	setEnv(cmd, w.env)
	before := countsOf(e)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	w.took = append(w.took, time.Since(start))
	w.seen = append(w.seen, countsOf(e).sub(before))
	return nil
}

// span shows one count over the runs: the value, or every value seen where
// runs differed.
func (w *way) span(show func(counts) string) string {
	var values []string
	for _, c := range w.seen {
		if v := show(c); !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return strings.Join(values, "|")
}

// seedHistory makes repository name with n commits on main.
func seedHistory(ctx context.Context, e *testenv.Env, name string, n int) error {
	if err := e.Git.CreateRepo(name); err != nil {
		return err
	}
	src := filepath.Join(e.Dir, "seed-"+name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	steps := [][]string{{"git", "init", "--quiet", "--initial-branch=main", src}}
	for i := range n {
		f := filepath.Join(src, "file.txt")
		steps = append(steps, []string{"sh", "-c", "echo " + strconv.Itoa(i) + " >> " + f + " && git -C " + src + " add file.txt && git -C " + src + " commit --quiet -m c" + strconv.Itoa(i)})
	}
	steps = append(steps, []string{"git", "-C", src, "push", "--quiet", e.Git.RepoDir(name), "main"})
	return runSteps(ctx, e, steps)
}
