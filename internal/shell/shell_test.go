//go:build unix

package shell

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestLimitedBuffer(t *testing.T) {
	b := &LimitedBuffer{Max: 5}
	for _, s := range []string{"ab", "cdef", "gh"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if string(b.Bytes()) != "abcde" || !b.Overflowed() {
		t.Fatalf("kept %q, overflowed %v", b.Bytes(), b.Overflowed())
	}
	small := &LimitedBuffer{Max: 5}
	small.Write([]byte("abc"))
	if small.Overflowed() {
		t.Fatal("3 bytes overflowed 5")
	}
}

func TestOwnGroupKillsEverythingWhenTheContextEnds(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The shell starts a grandchild that holds stdout and sleeps.
	cmd := Command(ctx, "sleep 60 & echo $! > "+pidFile+"; wait")
	OwnGroup(cmd)
	var out LimitedBuffer
	out.Max = 1024
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The context ends once the grandchild runs.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(pidFile); strings.HasSuffix(string(b), "\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell never started its grandchild")
		}
	}
	start := time.Now()
	cancel()
	err := cmd.Wait()
	if err == nil {
		t.Fatal("a hung command succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Wait took %s after the context ended", took)
	}
	b, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		t.Fatal("no grandchild pid")
	}
	// Wait returned once the grandchild's end closed stdout: it was killed.
	n, _ := strconv.Atoi(pid)
	if ok, why := testprobe.Killed(n); !ok {
		t.Fatalf("the grandchild %s still runs after the context ended:\n%s", pid, why)
	}
}
