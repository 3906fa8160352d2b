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

	"github.com/codecommitd/codecommitd/internal/testenv"
)

// operation is one kind of git operation, run the helper's way and the
// pre-signed way.
type operation struct {
	name string
	// cmd prepares run number run (in a folder of its own, never used by
	// another run) and returns the command.
	cmd func(ctx context.Context, run int, url string) (*exec.Cmd, error)
}

// wholeOperations measures (e) and (f).
func wholeOperations(ctx context.Context, e *testenv.Env, runs int) error {
	if err := seedHistory(ctx, e, "hundred", 100); err != nil {
		return err
	}
	// A work tree to push from, cloned once.
	if _, stderr, err := e.Run(ctx, "", "git", "clone", "--quiet", "codecommit://bench@repo", "pushwt"); err != nil {
		return fmt.Errorf("clone for the push: %w: %s", err, stderr)
	}
	presign := func(repo string) (string, error) {
		out, stderr, err := e.Run(ctx, "", "codecommitd", "sign-url", "codecommit://bench@"+repo)
		if err != nil {
			return "", fmt.Errorf("sign-url: %w: %s", err, stderr)
		}
		return strings.TrimSpace(out), nil
	}
	ops := []operation{
		{"(e) git ls-remote", func(ctx context.Context, _ int, url string) (*exec.Cmd, error) {
			return e.Command(ctx, "", "git", "ls-remote", url), nil
		}},
		{"(f) git fetch, 100 commits", func(ctx context.Context, run int, url string) (*exec.Cmd, error) {
			dir := fmt.Sprintf("fetch-%d", run)
			if _, stderr, err := e.Run(ctx, "", "git", "init", "--quiet", dir); err != nil {
				return nil, fmt.Errorf("%w: %s", err, stderr)
			}
			return e.Command(ctx, dir, "git", "fetch", "--quiet", url, "refs/heads/main"), nil
		}},
		{"(f) git push, one commit", func(ctx context.Context, run int, url string) (*exec.Cmd, error) {
			if _, stderr, err := e.Run(ctx, "pushwt", "git", "commit", "--quiet", "--allow-empty", "-m", "bench "+strconv.Itoa(run)); err != nil {
				return nil, fmt.Errorf("%w: %s", err, stderr)
			}
			return e.Command(ctx, "pushwt", "git", "push", "--quiet", url, "HEAD:refs/heads/bench-"+strconv.Itoa(run)), nil
		}},
	}
	fmt.Printf("(e), (f) whole git operations against the local stand-in through a WAN link, %d interleaved runs each, medians\n", runs)
	fmt.Printf("    %-28s %-6s %12s %12s %6s %8s   %-16s %-9s %s\n", "operation", "RTT", "helper", "pre-signed", "ratio", "saved", "requests (401)", "TCP", "TLS")
	seq := 0 // numbers every run, across RTTs: a fetch goes into an empty repository each time
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond} {
		if err := e.SetRTT(rtt); err != nil {
			return err
		}
		for _, op := range ops {
			repo := "repo"
			if strings.Contains(op.name, "fetch") {
				repo = "hundred"
			}
			helperURL := "codecommit://bench@" + repo
			helper, signed := way{name: "helper"}, way{name: "pre-signed"}
			for range runs {
				presigned, err := presign(repo) // fresh each run: a password lasts 15 minutes
				if err != nil {
					return err
				}
				for _, w := range []*way{&helper, &signed} {
					url := helperURL
					if w == &signed {
						url = presigned
					}
					seq++
					cmd, err := op.cmd(ctx, seq, url)
					if err != nil {
						return err
					}
					before := countsOf(e)
					start := time.Now()
					if out, err := cmd.CombinedOutput(); err != nil {
						return fmt.Errorf("%s (%s, RTT %s): %w: %s", op.name, w.name, rtt, err, out)
					}
					w.took = append(w.took, time.Since(start))
					w.seen = append(w.seen, countsOf(e).sub(before))
				}
			}
			h, p := median(helper.took), median(signed.took)
			both := func(show func(counts) string) string { return helper.span(show) + " vs " + signed.span(show) }
			fmt.Printf("    %-28s %-6s %12s %12s %6.2f %8s   %-16s %-9s %s\n", op.name, rtt, h, p, float64(h)/float64(p), (p - h).Round(time.Millisecond),
				both(func(c counts) string { return fmt.Sprintf("%d (%d)", c.requests, c.unauthorized) }),
				both(func(c counts) string { return strconv.Itoa(c.tcp) }),
				both(func(c counts) string { return strconv.Itoa(c.tls) }))
		}
	}
	fmt.Println("    helper vs pre-signed, per operation: HTTP requests (401s in brackets), TCP connections and TLS handshakes the stand-in saw")
	fmt.Println("    (every value seen, joined by |, where runs differed); the link costs each connection one RTT to open, each chunk RTT/2 each way")
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

// way is one way of running an operation (through the helper, or with a
// pre-signed URL): the time and the counts of each run.
type way struct {
	name string
	took []time.Duration
	seen []counts
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
	for _, s := range steps {
		if _, stderr, err := e.Run(ctx, "", s[0], s[1:]...); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, stderr)
		}
	}
	return nil
}
