package admin

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunRefusesATransportIdleThatIsNotPositive: a zero or negative idle
// time is one line naming the flag, before the daemon starts.
func TestRunRefusesATransportIdleThatIsNotPositive(t *testing.T) {
	for _, v := range []string{"0s", "-1m"} {
		var stdout, stderr bytes.Buffer
		code := Execute(context.Background(), []string{"run", "--socket", t.TempDir() + "/s", "--transport-idle", v}, &stdout, &stderr)
		if code == 0 {
			t.Fatalf("run --transport-idle %s: exit 0, want an error", v)
		}
		if got := strings.TrimSpace(stderr.String()); !strings.Contains(got, "--transport-idle "+v) || strings.Count(got, "\n") != 0 {
			t.Errorf("run --transport-idle %s said %q, want one line naming the flag", v, got)
		}
	}
}
