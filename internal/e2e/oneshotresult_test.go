//go:build unix

package e2e

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// TestTheOneShotAlwaysWritesAResult: `codecommitd oneshot` answers on its
// stdout whatever happens, so the helper never reads its stderr to know:
// the broker's error for a request it resolved, its own failure for one it
// could not read.
func TestTheOneShotAlwaysWritesAResult(t *testing.T) {
	e, _ := roleEnv(t)
	req, err := wire.EncodeOneshotRequest(&broker.SignRequest{Profile: "no-such-profile", Repository: "repo",
		Env: map[string]string{"HOME": e.Home}})
	must(t, err)
	for _, tc := range []struct {
		name  string
		stdin []byte
		code  int
		check func(*broker.SignedURL, error) bool
	}{
		{"a request for a profile that does not exist", req, 0, func(_ *broker.SignedURL, err error) bool {
			return errors.Is(err, broker.ErrProfileNotFound)
		}},
		{"a request that cannot be read", []byte("\xff\xfe not a request"), 1, func(_ *broker.SignedURL, err error) bool {
			var failed *wire.OneshotFailure
			return errors.As(err, &failed) && strings.Contains(failed.Msg, "decoding one-shot request")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := e.Command(ctx(t), "", "codecommitd", "oneshot")
			var stdout, stderr bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(tc.stdin), &stdout, &stderr
			cmd.Run()
			s, err := wire.DecodeOneshotResult(stdout.Bytes())
			if code := cmd.ProcessState.ExitCode(); code != tc.code || !tc.check(s, err) {
				t.Errorf("exit %d (want %d), result %v, %v; stderr %q", code, tc.code, s, err, stderr.String())
			}
			assertClean(t, stderr.String())
		})
	}
}
