//go:build unix

// Command demo shows the helpers working without an AWS account: it starts
// a fake STS and a CodeCommit stand-in that verifies signatures on
// localhost (with -latency, behind a WAN link of that round-trip time),
// writes a throw-away HOME with an assumed-role profile, clones and pushes
// through git-remote-codecommit, prints what happened, and cleans up.
// `make demo` runs it.
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
	binDir := flag.String("bin", "bin", "directory holding the built binaries")
	flag.DurationVar(&latency, "latency", 0, "reach the CodeCommit stand-in through a WAN link with this round-trip time (e.g. 50ms)")
	flag.Parse()
	if err := run(*binDir); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// latency is the round-trip time of the link in front of the stand-in; 0:
// no link.
var latency time.Duration

func run(binDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := testenv.Temp(binDir, "demo")
	if err != nil {
		return err
	}
	defer e.Close()
	if latency > 0 {
		if err := e.SetRTT(latency); err != nil {
			return err
		}
	}
	config, err := os.ReadFile(filepath.Join(e.Home, ".aws", "config"))
	if err != nil {
		return err
	}
	dir := e.Dir
	step := func(title string) { fmt.Printf("\n== %s\n", title) }
	sh := func(name string, args ...string) error {
		fmt.Printf("$ %s %s\n", name, strings.Join(args, " "))
		out, stderr, err := e.Run(ctx, "", name, args...)
		fmt.Print(indent(out + stderr))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}

	step("a throw-away world")
	fmt.Printf("HOME=%s\nfake STS: %s\nCodeCommit stand-in: https://%s (verifies every SigV4 password)\n", e.Home, e.STS.URL, e.Git.Host)
	if e.Link != nil {
		fmt.Printf("reached through a WAN link at %s: round-trip time %s, paid once to open each connection and by every exchange\n", e.GitHost(), latency)
	}
	fmt.Printf("\n~/.aws/config:\n%s", indent(string(config)))

	step("clone through git-remote-codecommit (the daemon starts itself)")
	if err := sh("git", "clone", "codecommit://demo@repo", "work"); err != nil {
		return err
	}
	step("commit and push")
	if err := os.WriteFile(filepath.Join(dir, "work", "hello.txt"), []byte("hello from codecommitd\n"), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"-C", "work", "add", "hello.txt"}, {"-C", "work", "commit", "-q", "-m", "hello"}, {"-C", "work", "push", "origin", "main"}} {
		if err := sh("git", args...); err != nil {
			return err
		}
	}
	step("ls-remote: a warm request, no STS call")
	if err := sh("git", "ls-remote", "codecommit://demo@repo"); err != nil {
		return err
	}
	step("what the daemon keeps")
	if err := sh("codecommitd", "status"); err != nil {
		return err
	}

	step("what happened")
	fmt.Printf("STS AssumeRole calls: %d (one, for every git operation above)\n", e.STS.Calls("AssumeRole"))
	var ok, challenged int
	for _, r := range e.Git.Requests() {
		switch r.Status {
		case 200:
			ok++
		case 401:
			challenged++
		}
	}
	fmt.Printf("git requests accepted by the CodeCommit stand-in: %d; refused: %d; 401 challenges: %d (the password goes with the first request)\n",
		ok, len(e.Git.Requests())-ok-challenged, challenged)
	c := e.Git.Conns()
	fmt.Printf("connections the stand-in accepted: %d TCP, %d TLS handshakes (%d of them HTTP/2)\n", c.TCP, c.TLS, c.HTTP2)
	if reqs := e.Git.Requests(); len(reqs) > 0 {
		fmt.Printf("signed by: %s\n", reqs[len(reqs)-1].Principal)
	}
	fmt.Println("\ncleaning up (daemon stopped, temporary files removed)")
	return nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
