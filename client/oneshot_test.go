//go:build unix

package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/wire"
)

// TestTheOneShotsResultDecides: what `codecommitd oneshot` writes on its
// stdout is the outcome; its stderr, whatever it says, is not read for one.
func TestTheOneShotsResultDecides(t *testing.T) {
	brokerErr, _ := wire.EncodeOneshotResult(nil, broker.Errorf(broker.ErrRegionMissing, "dev", "no region for profile dev"))
	failure, _ := wire.EncodeOneshotFailure(errors.New("cannot harden: operation not permitted"))
	for _, tc := range []struct {
		name   string
		stdout []byte
		stderr string
		exit   int
		kind   error
		want   string // %s is the binary
	}{
		{"a broker error, and crash words on stderr", brokerErr, "panic: goroutine 1 fatal error:", 0, broker.ErrRegionMissing,
			"no region for profile dev"},
		{"its own failure", failure, "codecommitd: cannot harden: operation not permitted", 1, broker.ErrUnavailable,
			"%s could not resolve the request in-process (exit status 1): cannot harden: operation not permitted"},
		{"no result, nothing said", nil, "", 3, broker.ErrUnavailable,
			"%s crashed while resolving the request in-process (exit status 3); this is a bug: run `codecommitd run --log-level debug` in a terminal and report what it says"},
		{"a garbled result, exit 0", []byte{9, 9, 9}, "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY went wrong", 0, broker.ErrUnavailable,
			"%s crashed while resolving the request in-process (exit status 0: key [redacted] went wrong); this is a bug: run `codecommitd run --log-level debug` in a terminal and report what it says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, errOut := filepath.Join(dir, "out"), filepath.Join(dir, "err")
			os.WriteFile(out, tc.stdout, 0o600)
			os.WriteFile(errOut, []byte(tc.stderr), 0o600)
			bin := filepath.Join(dir, "codecommitd")
			os.WriteFile(bin, []byte("#!/bin/sh\ncat "+out+"\ncat "+errOut+" >&2\nexit "+string(rune('0'+tc.exit))+"\n"), 0o755)
			var note bytes.Buffer
			a := &Auto{Socket: filepath.Join(dir, "none", "d.sock"), Daemon: bin, Stderr: &note}
			defer a.Close()
			_, err := a.SignURL(context.Background(), &broker.SignRequest{Repository: "repo"})
			want := tc.want
			if len(want) > 1 && want[:2] == "%s" {
				want = bin + want[2:]
			}
			if !errors.Is(err, tc.kind) || err.Error() != want {
				t.Errorf("SignURL = %v\nwant (%v) %s", err, tc.kind, want)
			}
		})
	}
}
