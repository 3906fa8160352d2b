//go:build unix

package transport

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// directEnv is the environment of git talking to the stand-in itself, as
// git-remote-codecommit has it today: the signed password as a header
// scoped to the repository's https URL.
func (w *world) directEnv(url string) []string {
	auth, _ := w.signer.Sign(testCtx(w.t), w.env.GitHost(), strings.TrimPrefix(url, "https://"+w.env.GitHost()))
	return []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http." + url + ".extraHeader", "GIT_CONFIG_VALUE_0=Authorization: " + auth}
}

// benchGit runs git in the world as path says ("direct": to the stand-in
// with the signed password; "transport": through the transport with c).
func (w *world) benchGit(b *testing.B, path string, c Capability, dir string, args ...string) {
	b.Helper()
	cmd := w.env.Command(testCtx(w.t), dir, "git", args...)
	if path == "direct" {
		cmd.Env = append(cmd.Env, w.directEnv(strings.Replace(c.URL, w.tr.Status().URL, "https://"+w.env.GitHost(), 1))...)
	} else {
		cmd.Env = append(cmd.Env, gitConfigEnv(c, w.noProxy)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkLsRemote times a whole git ls-remote at RTT 0, 50 and 100 ms
// through the WAN link: directly to the stand-in with a signed password
// (git opens a connection each time), and through a warm transport
// (git's connection is to the loopback; the upstream one stays open). It
// reports the upstream TCP connections and TLS handshakes per operation.
func BenchmarkLsRemote(b *testing.B) {
	for _, rtt := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond} {
		for _, path := range []string{"direct", "transport"} {
			b.Run(fmt.Sprintf("rtt=%s/%s", rtt, path), func(b *testing.B) {
				w := newWorld(b, Config{})
				if err := w.env.SetRTT(rtt); err != nil {
					b.Fatal(err)
				}
				c, _ := w.grant("repo")
				url := c.URL
				if path == "direct" {
					url = "https://" + w.env.GitHost() + "/v1/repos/repo"
				}
				w.benchGit(b, path, c, "", "ls-remote", url) // warm
				conns := w.env.Git.Conns()
				b.ResetTimer()
				for b.Loop() {
					w.benchGit(b, path, c, "", "ls-remote", url)
				}
				d := w.env.Git.Conns().Sub(conns)
				b.ReportMetric(float64(d.TCP)/float64(b.N), "conns/op")
				b.ReportMetric(float64(d.TLS)/float64(b.N), "handshakes/op")
			})
		}
	}
}

// cloneMB is the size of BenchmarkClone's repository:
// CODECOMMITD_BENCH_CLONE_MB, default 200.
func cloneMB(b *testing.B) int {
	if v := os.Getenv("CODECOMMITD_BENCH_CLONE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("CODECOMMITD_BENCH_CLONE_MB=%q is not a number of MB", v)
		}
		return n
	}
	return 200
}

// BenchmarkClone clones a repository of 200 MB of random bytes (which
// do not compress) at RTT 0, directly from the stand-in and through the
// transport: compare their MB/s. It also reports how far this process's
// heap grew above where it started during a clone (sampled every 10 ms).
// The stand-ins run in this process too (the WAN link alone may hold 4 MiB
// in flight each way), so the transport's own share is the difference
// between the two; a transport that buffered a pack would grow by the
// pack.
func BenchmarkClone(b *testing.B) {
	mb := cloneMB(b)
	w := newWorld(b, Config{})
	if err := w.env.Git.CreateRepo("big"); err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(w.env.Dir, "big-src")
	w.env.Run(testCtx(b), "", "git", "init", "--quiet", "--initial-branch=main", src)
	chunk := make([]byte, 1<<20)
	for i := range mb {
		rand.Read(chunk)
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%03d", i)), chunk, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, args := range [][]string{{"-C", src, "add", "."}, {"-C", src, "commit", "--quiet", "-m", "big"}, {"-C", src, "push", "--quiet", w.env.Git.RepoDir("big"), "main"}} {
		if _, stderr, err := w.env.Run(testCtx(b), "", "git", args...); err != nil {
			b.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr)
		}
	}
	os.RemoveAll(src)
	c, _ := w.grant("big")
	for _, path := range []string{"direct", "transport"} {
		b.Run(path, func(b *testing.B) {
			b.SetBytes(int64(mb) << 20)
			var growth atomic.Int64
			for i := 0; b.Loop(); i++ {
				dir := fmt.Sprintf("clone-%s-%d", path, i)
				url := c.URL
				if path == "direct" {
					url = "https://" + w.env.GitHost() + "/v1/repos/big"
				}
				stop := sampleHeap(&growth)
				w.benchGit(b, path, c, "", "clone", "--quiet", "--no-checkout", url, dir)
				stop()
				b.StopTimer()
				os.RemoveAll(filepath.Join(w.env.Dir, dir))
				b.StartTimer()
			}
			b.ReportMetric(float64(growth.Load())/(1<<20), "heap-growth-MiB")
		})
	}
}

// sampleHeap records in max the most this process's heap in use grew
// above its level now, until stop is called.
func sampleHeap(max *atomic.Int64) (stop func()) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := int64(m.HeapInuse)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if g := int64(m.HeapInuse) - base; g > max.Load() {
				max.Store(g)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
