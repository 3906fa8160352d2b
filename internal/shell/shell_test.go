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

	"github.com/codecommitd/codecommitd/internal/proctest"
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

func TestOwnGroupKillsEverythingOnTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// The shell starts a grandchild that holds stdout and sleeps.
	cmd := Command(ctx, "sleep 60 & echo $! > "+pidFile+"; wait")
	OwnGroup(cmd)
	var out LimitedBuffer
	out.Max = 1024
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		t.Fatal("a hung command succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Run took %s after the deadline", took)
	}
	b, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		t.Fatal("no grandchild pid")
	}
	// Run returned once the grandchild's end closed stdout: it was killed.
	n, _ := strconv.Atoi(pid)
	if ok, why := proctest.Killed(n); !ok {
		t.Fatalf("the grandchild %s still runs after the timeout:\n%s", pid, why)
	}
}
