//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codecommitd/codecommitd/internal/testenv"
)

// operation is one kind of git operation, run the helper's way and the
// pre-signed way.
type operation struct {
	name string
	// setup prepares a run (in its own folder) and returns the command.
	cmd func(ctx context.Context, run int, url string) (*exec.Cmd, error)
}

// wholeOperations measures (e) and (f).
func wholeOperations(ctx context.Context, e *testenv.Env, runs int) error {
	if err := e.Seed(ctx, "repo"); err != nil {
		return err
	}
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
	fmt.Printf("(e), (f) whole git operations against the local stand-in, %d interleaved runs each, medians\n", runs)
	fmt.Printf("    %-28s %-8s %12s %12s %8s %10s %14s\n", "operation", "latency", "helper", "pre-signed", "ratio", "saved", "requests (401)")
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		e.Git.SetLatency(latency)
		for _, op := range ops {
			repo := "repo"
			if strings.Contains(op.name, "fetch") {
				repo = "hundred"
			}
			helperURL := "codecommit://bench@" + repo
			var tHelper, tSigned []time.Duration
			var reqHelper, reqSigned, unauthHelper, unauthSigned int
			for run := range runs {
				signed, err := presign(repo) // fresh each run: a password lasts 15 minutes
				if err != nil {
					return err
				}
				for w, way := range []string{"helper", "signed"} {
					url := helperURL
					if way == "signed" {
						url = signed
					}
					cmd, err := op.cmd(ctx, run*2+w, url)
					if err != nil {
						return err
					}
					reqs0, unauth0 := e.Git.Seen()
					start := time.Now()
					if out, err := cmd.CombinedOutput(); err != nil {
						return fmt.Errorf("%s (%s): %w: %s", op.name, way, err, out)
					}
					took := time.Since(start)
					reqs1, unauth1 := e.Git.Seen()
					if way == "helper" {
						tHelper, reqHelper, unauthHelper = append(tHelper, took), reqs1-reqs0, unauth1-unauth0
					} else {
						tSigned, reqSigned, unauthSigned = append(tSigned, took), reqs1-reqs0, unauth1-unauth0
					}
				}
			}
			h, p := median(tHelper), median(tSigned)
			fmt.Printf("    %-28s %-8s %12s %12s %8.2f %10s %6d (%d) vs %d (%d)\n", op.name, latency, h, p, float64(h)/float64(p),
				(p - h).Round(time.Millisecond), reqHelper, unauthHelper, reqSigned, unauthSigned)
		}
	}
	e.Git.SetLatency(0)
	fmt.Println("    requests: HTTP requests one operation made, helper vs pre-signed (401s in brackets)")
	fmt.Println()
	return nil
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
