package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestReadyReportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		outcome Readiness
		why     string
	}{
		{Ready, ""},
		{AlreadyRunning, "a daemon is already running on /s"},
		{Failed, "log file F is a symbolic link\nsecond line"},
	} {
		b, err := EncodeReadyReport(tc.outcome, tc.why)
		if err != nil {
			t.Fatal(err)
		}
		outcome, why, err := DecodeReadyReport(b)
		if err != nil || outcome != tc.outcome || why != strings.ReplaceAll(tc.why, "\n", " ") {
			t.Errorf("round trip of %d %q = %d %q %v", tc.outcome, tc.why, outcome, why, err)
		}
	}
	if _, _, err := DecodeReadyReport(nil); !errors.Is(err, ErrNoReport) {
		t.Errorf("no report = %v, want ErrNoReport", err)
	}
	for _, junk := range []string{"ready\n", "codecommitd is already running\n", "\x08\x07"} {
		if outcome, _, err := DecodeReadyReport([]byte(junk)); err == nil {
			t.Errorf("%q decodes as %d", junk, outcome)
		}
	}
}

func FuzzDecodeReadyReport(f *testing.F) {
	ok, _ := EncodeReadyReport(Ready, "")
	failed, _ := EncodeReadyReport(Failed, "why")
	f.Add(ok)
	f.Add(failed)
	f.Add([]byte("ready\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		outcome, why, err := DecodeReadyReport(b)
		if (err == nil) != (outcome >= Ready && outcome <= Failed) {
			t.Fatalf("DecodeReadyReport = %d, %v: want an outcome exactly when there is no error", outcome, err)
		}
		if strings.ContainsAny(why, "\n\r\x00") || len(why) > MaxReadyReport {
			t.Fatalf("message is not one bounded line: %q", why)
		}
	})
}
